"""Ports: the Protocols the engine's shell talks to. Start reading the code here."""

"""Adapters: technology-specific implementations of the ports (stores, channels, connectors)."""

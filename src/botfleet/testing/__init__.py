"""Fakes and in-memory adapters shipped with the package, for tests and the CLI simulator."""

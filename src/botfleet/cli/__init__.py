"""The `botfleet` command line."""

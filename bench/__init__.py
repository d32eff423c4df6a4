"""Benchmarks of botfleet (`make bench`); never part of `make test`."""

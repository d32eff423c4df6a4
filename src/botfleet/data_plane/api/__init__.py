"""HTTP routes of the data plane."""

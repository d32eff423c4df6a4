"""The data plane: one process per tenant running its bot."""

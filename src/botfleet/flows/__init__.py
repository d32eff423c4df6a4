"""The flow engine: schema, loading, validation, templates and the pure step function."""

"""The imperative shell around the pure engine: ordering, persistence, effects, sending."""

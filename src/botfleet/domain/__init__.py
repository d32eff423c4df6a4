"""Pure domain values shared by both planes. Imports nothing from the rest of the project."""

"""Configuration: the schema of every key, where each value came from, placeholders filled at run time."""

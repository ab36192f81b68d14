"""Upkeep of the pipeline's own tables in PostgreSQL (vacuum when the server does not)."""

"""The shop's knowledge: FAQ entries (managed by operators) and retrieval over them, the
active catalogue and a buyer's own orders."""

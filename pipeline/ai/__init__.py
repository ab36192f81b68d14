"""Talking to an OpenAI-compatible provider: redaction, budget, calls and their record."""

"""Telegram outbound: a Bot API client (base URL configurable) and a shared rate limiter."""

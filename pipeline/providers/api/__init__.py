"""Provider APIs the worker asks before acting on unsigned webhooks (re-fetch).

`ports` holds the Protocols handlers depend on; the httpx implementations live beside
them (they use nothing but httpx and tenacity), and tests fake the HTTP side with respx.
"""

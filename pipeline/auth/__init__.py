"""Who may do what: staff accounts, their logins, API keys and the scopes of each role.

Shared by every edge that authenticates callers (the HTTP API today), so a role means the
same everywhere.
"""

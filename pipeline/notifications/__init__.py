"""Notifications: the outbox every user-facing or operator message goes through."""

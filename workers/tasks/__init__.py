"""Celery task modules, one per concern."""

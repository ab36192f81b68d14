"""Sending Celery messages to RabbitMQ or Redis, and reading their queues."""

"""The live tests' Redis namespace per test (tests/pipeline/live/conftest.py)."""

from tests.pipeline.live.conftest import live_redis

__all__ = ["live_redis"]  # a fixture, for pytest

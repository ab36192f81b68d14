"""The AI tests' fixtures (tests/pipeline/ai/conftest.py): this session's Redis, the shop."""

from tests.pipeline.ai.conftest import rclient, shop

__all__ = ["rclient", "shop"]  # fixtures, for pytest

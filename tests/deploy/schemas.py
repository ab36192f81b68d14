"""JSON schemas shipped by PyPI packages (no network): Compose, GitHub workflows."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest


def vendored_schema(name: str) -> dict[str, Any]:
    """A schema vendored by check-jsonschema (a dev dependency), by file stem."""
    try:
        folder = resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        pytest.fail("check-jsonschema is not installed: it ships the schemas these tests use")
    schema: dict[str, Any] = json.loads(folder.joinpath(f"{name}.json").read_text())
    return schema


def schema_errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]

"""A handler plugin's `update_processor` is given the worker runtime's `Deps`; a plugin
written for the older `update_processor(settings, redactor)` keeps working, warned once."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.redaction import Redactor
from pipeline.settings import Settings
from pipeline.telegram.updates import takes_deps
from tests.support.logs import log_records
from workers import runtime as worker_runtime
from workers.celery_app import app

if TYPE_CHECKING:
    from loguru import Record  # in loguru's stubs only

Seen = list[tuple[Any, ...]]


def plugin_offering(hook: Callable[..., Any]) -> Callable[[str], Iterator[tuple[str, Any]]]:
    """The handler plugins the worker finds: one, offering `hook` as its update_processor."""

    def load(group: str) -> Iterator[tuple[str, Any]]:
        yield "shop-bot", SimpleNamespace(update_processor=hook)

    return load


@pytest.fixture
def fresh_runtime(db: sessionmaker[Session]) -> Iterator[None]:
    app.reset_runtime()  # this process starts now, with this test's plugins
    yield
    app.reset_runtime()


@pytest.fixture
def warned() -> Iterator[list[Record]]:
    with log_records("WARNING") as records:
        yield records


def test_the_hook_is_given_the_worker_runtimes_deps(
    fresh_runtime: None, warned: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: Seen = []

    def update_processor(deps: Deps) -> Callable[[dict[str, Any]], None]:
        seen.append((deps,))
        return lambda payload: seen.append((payload,))

    monkeypatch.setattr(worker_runtime, "load_entry_points", plugin_offering(update_processor))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runtime = app.runtime
    assert seen == [(runtime.deps,)]  # the runtime's own, not one built for the plugin
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert warned == []


def test_a_plugin_with_the_older_hook_is_called_the_old_way_and_warned_once(
    fresh_runtime: None, warned: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: Seen = []

    def update_processor(settings: Settings, redactor: Redactor) -> Callable[..., None]:
        seen.append((settings, redactor))
        return lambda payload: seen.append((payload,))

    monkeypatch.setattr(worker_runtime, "load_entry_points", plugin_offering(update_processor))
    with pytest.warns(DeprecationWarning, match="update_processor") as caught:
        runtime = app.runtime
        assert runtime.bot is not None
        runtime.bot({"update_id": 1})
        runtime.bot({"update_id": 2})
        assert app.runtime is runtime
    assert seen == [
        (runtime.settings, runtime.deps.redactor),  # the runtime's settings and Redactor
        ({"update_id": 1},),
        ({"update_id": 2},),
    ]
    assert len([w for w in caught if issubclass(w.category, DeprecationWarning)]) == 1
    assert len(warned) == 1 and "shop-bot" in warned[0]["message"]


def current(deps: Deps) -> None: ...
def current_keyword(deps: Deps, *, extra: int = 0) -> None: ...
def older(settings: Settings, redactor: Redactor) -> None: ...
def older_defaulted(settings: Settings, redactor: Redactor | None = None) -> None: ...
def older_positional_only(s: Settings, r: Redactor, /) -> None: ...


class Factory:
    def __call__(self, deps: Deps) -> None: ...


@pytest.mark.parametrize(
    ("hook", "new"),
    [
        (current, True),
        (current_keyword, True),
        (Factory(), True),
        (lambda *args: None, True),
        (older, False),
        (older_defaulted, False),
        (older_positional_only, False),
    ],
)
def test_the_older_hook_is_told_by_its_signature(hook: Callable[..., Any], new: bool) -> None:
    assert takes_deps(hook) is new

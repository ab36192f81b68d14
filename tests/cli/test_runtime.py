"""A CLI command builds its runtime once (services, sessions, the core's dependencies
with a sender on the resolved broker) and hands it down."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from cli import runtime as cli_runtime_module
from pipeline.payments import refunds
from pipeline.providers.settings_set import ProviderSettingsSet

runner = CliRunner()


def test_a_refund_command_uses_one_runtime_and_its_provider_settings(
    db: sessionmaker[Session], broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtimes: list[Any] = []
    build = cli_runtime_module.CliRuntime
    sets: list[ProviderSettingsSet] = []
    from_env = ProviderSettingsSet.from_env.__func__  # type: ignore[attr-defined]
    given: list[Any] = []
    refund_order = refunds.refund_order

    def counted_runtime(*args: Any) -> Any:
        runtimes.append(build(*args))
        return runtimes[-1]

    def counted_from_env(cls: type[ProviderSettingsSet]) -> ProviderSettingsSet:
        sets.append(from_env(cls))
        return sets[-1]

    def seen_refund(ctx: Any, public_id: str, clients: Any) -> Any:
        given.append(ctx.deps)
        return refund_order(ctx, public_id, clients)

    monkeypatch.setattr(cli_runtime_module, "CliRuntime", counted_runtime)
    monkeypatch.setattr(ProviderSettingsSet, "from_env", classmethod(counted_from_env))
    monkeypatch.setattr(refunds, "refund_order", seen_refund)
    result = runner.invoke(app, ["orders", "refund", "no-such-order"])
    assert result.exit_code != 0  # no such order; the runtime was built and used anyway
    assert len(runtimes) == 1 and len(sets) == 1
    assert given == [runtimes[0].deps]
    assert runtimes[0].deps.sender is not None  # after-commit tasks go to the broker
    assert runtimes[0].deps.providers is sets[0]

"""Each alert names its runbook: by key for the pipeline's own, by the `runbook:` line of
a Prometheus alert's text; a link when the docs site is configured, the docs page if not."""

from __future__ import annotations

from pipeline.alerts.listing import Runbook, runbook

DOCS = "https://docs.example.com/"


def test_own_alerts_by_key() -> None:
    assert runbook("event_dead:stripe", "stripe event went dead", DOCS) == Runbook(
        "operations/alerts/#events-going-dead",
        "https://docs.example.com/operations/alerts/#events-going-dead",
    )
    assert runbook("backup_failed", "backup failed: disk full") == Runbook(
        "docs/operations/backups.md", None
    )
    assert runbook("payment_mismatch:42", "amount differs") == Runbook(
        "docs/operations/alerts.md#a-payment-did-not-settle-its-order", None
    )
    assert runbook("something_new", "no runbook yet", DOCS) is None


def test_prometheus_alerts_by_their_text() -> None:
    text = "Prometheus TargetDown (critical): receiver down\nrunbook: https://wiki/x"
    assert runbook("prometheus:TargetDown:ab", text, DOCS) == Runbook(
        "https://wiki/x", "https://wiki/x"
    )
    relative = "Prometheus X\nrunbook: operations/alerts/"
    assert runbook("prometheus:X:cd", relative) == Runbook("docs/operations/alerts.md", None)

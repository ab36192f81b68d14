"""The runbook of each alert as operators read them (the API and the console list
`repository.firing_then_recent`): the page that says what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

ALERTS_PAGE = "operations/alerts/"
# Key prefix of the pipeline's own alerts -> its runbook, a page of the docs site.
RUNBOOKS: tuple[tuple[str, str], ...] = (
    ("event_dead:", f"{ALERTS_PAGE}#events-going-dead"),
    ("payment_mismatch:", f"{ALERTS_PAGE}#a-payment-did-not-settle-its-order"),
    ("payment_overpaid:", f"{ALERTS_PAGE}#a-payment-did-not-settle-its-order"),
    ("queue_backlog:", f"{ALERTS_PAGE}#queue-keeps-growing"),
    ("signature_failures:", f"{ALERTS_PAGE}#bad-signatures"),
    ("worker_heartbeat", f"{ALERTS_PAGE}#noceleryworkersonline"),
    ("backup_failed", "operations/backups/"),
    ("backup_overdue", "operations/backups/"),
)
RUNBOOK_LINE = "runbook: "  # how a Prometheus alert's text carries its rule's runbook


@dataclass(frozen=True)
class Runbook:
    """`href` when it can be opened (absolute, or the docs site is configured); otherwise
    `label` names the page in the repository's docs/."""

    label: str
    href: str | None


def _docs_page(path: str, base_url: str) -> Runbook:
    if base_url:
        return Runbook(path, f"{base_url.rstrip('/')}/{path}")
    page, _, anchor = path.partition("#")
    label = f"docs/{page.rstrip('/')}.md" + (f"#{anchor}" if anchor else "")
    return Runbook(label, None)


def runbook(key: str, text: str, base_url: str = "") -> Runbook | None:
    """The runbook of an alert: from its key for the pipeline's own, from the `runbook:`
    line of its text for Prometheus' (already joined to the base URL there)."""
    for line in text.splitlines():
        if line.startswith(RUNBOOK_LINE):
            link = line.removeprefix(RUNBOOK_LINE).strip()
            if link.startswith(("https://", "http://")):
                return Runbook(link, link)
            return _docs_page(link.lstrip("/"), base_url) if link else None
    for prefix, path in RUNBOOKS:
        if key.startswith(prefix):
            return _docs_page(path, base_url)
    return None

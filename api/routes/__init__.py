"""Every router of `/api/v1`, included by `api.app.create_app` in this order."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import alerts, apikeys, auth, catalog, events, live, oauth, providers, staff, stats

ROUTERS: list[APIRouter] = [
    auth.router,
    oauth.router,
    staff.router,
    apikeys.router,
    events.router,
    providers.router,
    catalog.router,
    alerts.router,
    stats.router,
    live.router,
]

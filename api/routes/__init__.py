"""Every router of `/api/v1`, included by `api.app.create_app` in this order."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    alerts,
    apikeys,
    auth,
    backups,
    broadcasts,
    catalog,
    events,
    feedback,
    knowledge,
    live,
    miniapp,
    miniapp_ws,
    oauth,
    orders,
    providers,
    staff,
    stats,
    users,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    oauth.router,
    staff.router,
    apikeys.router,
    events.router,
    providers.router,
    orders.router,
    users.router,
    catalog.router,
    broadcasts.router,
    feedback.router,
    backups.router,
    alerts.router,
    stats.router,
    live.router,
    knowledge.router,
    miniapp.router,
    miniapp_ws.router,
]

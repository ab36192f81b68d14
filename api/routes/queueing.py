"""The API's way to the workers: the runtime's task sender (`runtime.deps.sender`, the
core's port, on BROKER_URL), which routes that cannot do their job without one require."""

from __future__ import annotations

from api.errors import ProblemError
from api.runtime import ApiRuntime
from pipeline.messaging.tasks import TaskSender


def task_sender(runtime: ApiRuntime) -> TaskSender:
    """The sender, or a 503 when no broker is configured (ask before changing anything)."""
    sender = runtime.deps.sender
    if sender is None:
        raise ProblemError(503, "Service Unavailable", "no broker configured (BROKER_URL)")
    return sender

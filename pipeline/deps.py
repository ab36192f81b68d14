"""What core code needs from the process that runs it, built once when the process starts.

Each process kind (worker, receiver, API, bot, CLI) holds one `Deps` in its runtime and
passes it down: the event service hands it to every handler (`HandlerContext.deps`), and
periodic jobs and units of work carry it as `ctx.deps`. Core code reads settings,
provider settings, provider API adapters, the task sender, the Redis client and the
process's `Redactor` from here, never from the environment per event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.redaction import Redactor
from pipeline.settings import Settings, get_settings

if TYPE_CHECKING:
    from redis import Redis

    from pipeline.messaging.tasks import TaskSender
    from pipeline.providers.api.ports import ProviderApis
    from pipeline.providers.settings_set import ProviderSettingsSet


class Deps:
    def __init__(
        self,
        settings: Settings,
        *,
        providers: ProviderSettingsSet | None = None,
        sender: TaskSender | None = None,
        apis: ProviderApis | None = None,
        redis: Redis | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.settings = settings
        # Sends tasks by name; None in a process that sends none (a send is then dropped
        # with a warning, and the periodic sweeps catch up).
        self.sender = sender
        self._providers = providers
        self._apis = apis
        self._redis = redis
        # The process's Redactor (its log sinks and Sentry hold the same object): it learns
        # every settings object this Deps holds, whenever that is read.
        self._redactor = redactor
        if redactor is not None:
            redactor.learn(settings, *(providers.all() if providers is not None else ()))

    @classmethod
    def build(cls, redis: Redis | None = None) -> Deps:
        """From the environment: for a context made by hand (tests, one-off scripts)."""
        return cls(get_settings(), redis=redis)

    @property
    def providers(self) -> ProviderSettingsSet:
        """Every provider's settings, read once (a runtime passes them in built)."""
        if self._providers is None:
            from pipeline.providers.settings_set import ProviderSettingsSet

            self._providers = ProviderSettingsSet.from_env()
            if self._redactor is not None:
                self._redactor.learn(*self._providers.all())
        return self._providers

    @property
    def redactor(self) -> Redactor:
        """What masks secrets in text this process writes out (stored errors, alerts):
        the runtime's; for a Deps made by hand, one built here from its settings and its
        providers' settings."""
        if self._redactor is None:
            self._redactor = Redactor(self.settings, *self.providers.all())
        return self._redactor

    @property
    def apis(self) -> ProviderApis:
        """The provider API adapters, built on first use (the receiver never needs them)."""
        if self._apis is None:
            from pipeline.providers.api.ports import http_provider_apis

            self._apis = http_provider_apis(self.providers)
        return self._apis

    @property
    def redis(self) -> Redis:
        """The process's Redis client (caches, locks, rate limits, the live channel), built
        on first use; RuntimeError when REDIS_URL is not Redis. A runtime builds its Deps
        per process (a forked child its own), so the client's connections are never shared
        across a fork."""
        if self._redis is None:
            from pipeline.redis_client import connect_redis

            self._redis = connect_redis(self.settings)
        return self._redis

    def close(self) -> None:
        """Drop the Redis client's connections; the runtime that built this Deps calls it
        when the process (or the command) ends. The sender is the runtime's to close."""
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def use_apis(self, apis: ProviderApis | None) -> None:
        """Replace the adapters; None rebuilds them from the settings on next use."""
        self._apis = apis


def redactor_of(settings: Settings) -> Redactor:
    """For a context made by hand (a test, a script): a Redactor of `settings` and of every
    provider's settings read from the environment. A process's code paths pass its
    runtime's instead."""
    return Deps(settings).redactor

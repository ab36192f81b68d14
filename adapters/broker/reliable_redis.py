"""kombu's Redis transport with an atomic fetch: a message is never outside both its
queue and the unacknowledged set.

kombu fetches with `BRPOP` and records the message as unacknowledged (`ZADD
unacked_index` + `HSET unacked`) afterwards, in a second round trip. A worker's main
process killed between the two, or Redis killed while the popped message is on its way,
loses the message for good. Here one Lua script pops from the first non-empty of the
consumer's queues (kombu's priority order and fair rotation) and records it in the
same step, so a dead worker's message always comes back through the visibility
timeout.

A script cannot block, so the wait is separate: every publish also pushes a token onto
its queue's doorbell list, and a consumer that found its queues empty waits with
`BLPOP` on their doorbells (at most `brpop_timeout`, 1 s, for a producer that does not
ring, such as a restore by an older kombu). A consumer fetches back to back while there
is work; the fetch that finds the queues empty also clears their doorbells, whose
tokens then belong to messages already taken.

Installed for the `redis`, `rediss` and `redis+socket` schemes by `install()`.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic, time
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, _transport_cache
from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import base as virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

# KEYS: the queue lists in fetch order, unacked_index, unacked, then the doorbells.
# ARGV: delivery time (kombu's clock: the client's time()), number of queue lists.
# The stored value is kombu's `[message, exchange, routing_key]`, built around the raw
# text so the message is kept byte for byte (cjson would turn [] into {}).
FETCH_SCRIPT = """
local queues = tonumber(ARGV[2])
for i = 1, queues do
  local item = redis.call('RPOP', KEYS[i])
  if item then
    local ok, message = pcall(cjson.decode, item)
    local properties = ok and type(message) == 'table' and message['properties']
    local tag = type(properties) == 'table' and properties['delivery_tag']
    if type(tag) ~= 'string' then
      return {KEYS[i], item, 0}
    end
    local info = properties['delivery_info']
    if type(info) ~= 'table' then info = {} end
    local exchange = info['exchange']
    local routing_key = info['routing_key']
    if type(exchange) ~= 'string' then exchange = '' end
    if type(routing_key) ~= 'string' then routing_key = '' end
    redis.call('ZADD', KEYS[queues + 1], ARGV[1], tag)
    redis.call('HSET', KEYS[queues + 2], tag,
      '[' .. item .. ',' .. cjson.encode(exchange) .. ',' .. cjson.encode(routing_key) .. ']')
    return {KEYS[i], item, 1}
  end
end
for i = queues + 3, #KEYS do
  redis.call('DEL', KEYS[i])
end
return false
"""


def doorbell_key(queue: str) -> str:
    """The list a publish to `queue` pushes a token onto, to wake a waiting consumer."""
    return f"_kombu.doorbell.{queue}"


# Tokens beyond the number of waiting consumers wake nobody; the cap bounds a doorbell
# whose queue has no consumer at all.
DOORBELL_TOKENS_MAX = 64


def ring_commands(queue: str) -> list[tuple[Any, ...]]:
    """The commands that follow a publish to `queue` (same round trip)."""
    key = doorbell_key(queue)
    return [("lpush", key, 1), ("ltrim", key, 0, DOORBELL_TOKENS_MAX - 1)]


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    def append(self, message: Any, delivery_tag: str) -> None:
        if self.channel.take_recorded(delivery_tag):
            # The fetch script recorded it already: only the in-memory book remains.
            virtual.QoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    QoS = QoS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorded: set[str] = set()
        self._fetch_next = True
        self._sent_wait = False

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            # After a broker error Celery collects the connection (which detaches the
            # transport) and closes it again; that close restores unacknowledged
            # messages through a new pool. A connection error here lets Celery go on
            # reconnecting (kombu's AttributeError stopped the worker); the messages
            # stay recorded and come back through the visibility timeout.
            raise kombu_redis.get_redis_ConnectionError()("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)

    def take_recorded(self, delivery_tag: str) -> bool:
        if delivery_tag in self._recorded:
            self._recorded.discard(delivery_tag)
            return True
        return False

    def _key(self, name: str) -> str:
        return f"{self.global_keyprefix}{name}" if self.global_keyprefix else name

    def _fetch_args(self, queues: list[str]) -> list[Any]:
        lists = [self._q_for_pri(queue, pri) for pri in self.priority_steps for queue in queues]
        keys = [*lists, self.unacked_index_key, self.unacked_key, *map(doorbell_key, queues)]
        return [FETCH_SCRIPT, len(keys), *map(self._key, keys), time(), len(lists)]

    def _brpop_start(self, timeout: float | None = None) -> None:
        # Same contract as kombu's: one command in flight, its reply read by _brpop_read.
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        connection = self.client.connection
        self._in_poll = connection
        self._brpop_sent_at = monotonic()
        self._sent_wait = not self._fetch_next
        if self._sent_wait:
            doorbells = [self._key(doorbell_key(queue)) for queue in queues]
            connection.send_command("BLPOP", *doorbells, timeout or self.brpop_timeout or 1)
        else:
            connection.send_command("EVAL", *self._fetch_args(queues))

    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                command = "BLPOP" if self._sent_wait else "EVAL"
                reply = self.client.parse_response(self.client.connection, command, **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if self._sent_wait or not reply:
                # After a wait, look; after an empty look, wait.
                self._fetch_next = self._sent_wait
                raise Empty()
            self._fetch_next = True
            self._deliver_fetched(reply)
            return True
        finally:
            self._in_poll = None
            self._flush_brpop_reauth()

    def _deliver_fetched(self, reply: list[Any]) -> None:
        key, item, recorded = reply
        key = bytes_to_str(key)
        if self.global_keyprefix and key.startswith(self.global_keyprefix):
            key = key[len(self.global_keyprefix) :]
        queue = key.rsplit(self.sep, 1)[0]
        message = loads(bytes_to_str(item))
        if recorded:
            self._recorded.add(message["properties"]["delivery_tag"])
        self._queue_cycle.rotate(queue)
        self.connection._deliver(message, queue)

    def _get(self, queue: str) -> Any:
        with self.conn_or_acquire() as client:
            reply = client.eval(*self._fetch_args([queue]))
            self._maybe_update_queues_expire(client, queue)
        if not reply:
            raise Empty()
        _, item, recorded = reply
        message = loads(bytes_to_str(item))
        if recorded:
            self._recorded.add(message["properties"]["delivery_tag"])
        return message

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        """kombu's publish, plus the token on the queue's doorbell, in one round trip."""
        key = self._q_for_pri(queue, self._get_message_priority(message, reverse=False))
        expires = self._expires.get(queue) if self._expires else None
        batch = kwargs.pop("_publish_batch", None)
        commands: list[tuple[Any, ...]] = [("lpush", key, dumps(message))]
        if expires:
            lists = [self._q_for_pri(queue, pri) for pri in self.priority_steps]
            commands += [("pexpire", name, expires) for name in lists]
        commands += ring_commands(queue)
        if batch is not None:
            for name, *args in commands:
                batch.add(name, *args)
            return
        with self.conn_or_acquire() as client, client.pipeline() as pipe:
            for name, *args in commands:
                getattr(pipe, name)(*args)
            pipe.execute()

    def _do_restore_message(
        self, payload: Any, exchange: str, routing_key: str, pipe: Any, leftmost: bool = False
    ) -> None:
        super()._do_restore_message(payload, exchange, routing_key, pipe, leftmost)
        for queue in self._lookup(exchange, routing_key):
            for name, *args in ring_commands(queue):
                getattr(pipe, name)(*args)


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel


TRANSPORT = f"{__name__}:Transport"


def install() -> None:
    """Make kombu use this transport for Redis URLs in this process (idempotent).

    A registry entry rather than Celery's `broker_transport`: kombu takes the transport
    of a `redis+socket://` URL from its scheme prefix and ignores the setting.
    """
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = TRANSPORT
        # kombu caches a resolved alias: a connection made before must not pin the old one.
        _transport_cache.pop(scheme, None)

"""Source-network checks: who may post to a provider, and who the client really is.

Parsing is cached by the setting's text, so a check costs a few address comparisons.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from pipeline.providers.base import Forbidden

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Networks = tuple[IPNetwork, ...]


@lru_cache(maxsize=256)
def parse_networks(spec: str) -> Networks:
    """`"185.71.76.0/27, 77.75.156.11"` -> networks. Raises ValueError naming a bad entry."""
    networks: list[IPNetwork] = []
    for part in spec.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def joined(*specs: Iterable[str] | str) -> str:
    parts: list[str] = []
    for spec in specs:
        parts.extend([spec] if isinstance(spec, str) else spec)
    return ",".join(p for p in parts if p.strip())


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def contains(networks: Networks, address: str | None) -> bool:
    parsed = _address(address)
    if parsed is None:
        return False
    return any(parsed.version == net.version and parsed in net for net in networks)


def resolve_client(peer: str | None, forwarded_for: str | None, trusted: Networks) -> str | None:
    """The client address: the peer, unless the peer is a trusted proxy; then the nearest
    address in X-Forwarded-For that is not itself a trusted proxy."""
    if not trusted or not forwarded_for or not contains(trusted, peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not contains(trusted, hop):
            return hop
    return hops[0] if hops else peer


def require_source(client_ip: str | None, networks: Networks | None, provider: str) -> None:
    """403 unless the allowlist is off (None) or contains the client."""
    if networks is None:
        return
    if not contains(networks, client_ip):
        # The address stays out of the answer (the receiver logs it): behind proxies it is
        # what the receiver resolved, which tells a prober how its headers were read.
        raise Forbidden(f"{provider} webhooks are not accepted from this address")

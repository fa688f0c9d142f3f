"""Who is on the other end of a request: the peer's address, or the client's address as told by a
proxy we trust.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only when the
peer itself is a configured trusted proxy. Behind such a proxy the list is read from the right:
each trusted hop appended the address it saw, and the first address that is not a trusted proxy
is the client. Entries further left were written by the client and prove nothing.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from services.errors import ConfigError

Network = IPv4Network | IPv6Network
MAX_HOPS = 16  # proxies we walk back through; a longer chain is not ours
IPV6_PREFIX = 64  # one subscriber's share of IPv6: a /64 holds 2**64 addresses of one client


def parse_networks(spec: str) -> tuple[Network, ...]:
    """Trusted proxies as ``10.0.0.1,10.1.0.0/16,::1``; loud on a typo."""
    networks: list[Network] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"trusted proxy {item!r} is not an address or network") from exc
    return tuple(networks)


def is_trusted(address: str | None, trusted: tuple[Network, ...]) -> bool:
    if not address or not trusted:
        return False
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy that forwarded one.

    A malformed entry stops the walk at the last hop we could trust, so a garbled header never
    names an address of the sender's choosing.
    """
    client = peer or ""
    if not forwarded or not is_trusted(client, trusted):
        return client
    for entry in reversed(forwarded.rsplit(",", MAX_HOPS)[-MAX_HOPS:]):
        try:
            hop = str(ip_address(entry.strip()))
        except ValueError:
            return client
        client = hop
        if not is_trusted(hop, trusted):
            return hop
    return client


def limit_key(address: str) -> str:
    """What a per-address limit counts: an IPv4 address (IPv4-mapped IPv6 included) as it is,
    an IPv6 address by its /64, since one client can pick any address in its /64 at will."""
    try:
        ip = ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)

"""Which network addresses linkpatrol may fetch: the server-side request forgery policy.

No Scrapy import, so the web app (seed validation) and the crawler
(``crawler.downloadermiddlewares.address_guard``) share it.
By default only globally routable addresses are allowed: loopback, private, link-local (which holds
the cloud metadata endpoint 169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified
addresses are refused. ``LINKPATROL_ALLOW_PRIVATE=1`` turns the guard off (a laptop, the tests);
``LINKPATROL_ALLOWED_NETWORKS`` (comma-separated CIDRs) allows chosen networks only.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from linkpatrol.env import flag, text

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Named even though "not global" covers them: they are what the guard exists for.
METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use translators
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class BadNetworkList(ValueError):
    pass


def parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    nets = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise BadNetworkList(f"LINKPATROL_ALLOWED_NETWORKS: {part!r} is not a network ({exc})") from exc
    return tuple(nets)


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False
    allowed: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AddressPolicy:
        return cls(allow_private=flag(env, "LINKPATROL_ALLOW_PRIVATE"),
                   allowed=parse_networks(text(env, "LINKPATROL_ALLOWED_NETWORKS")))

    @property
    def enabled(self) -> bool:
        return not self.allow_private

    def allows(self, address: str | IPAddress) -> bool:
        """True when ``address`` (an IP literal) may be fetched."""
        if self.allow_private:
            return True
        try:
            ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.scope_id:
                return False
            if ip in NAT64_LOCAL:  # every RFC 6052 layout the address fits must hold an allowed one
                return all(self.allows(v4) for v4 in nat64_embedded(ip))
            mapped = ip.ipv4_mapped or ip.sixtofour
            if mapped is None and (ip in NAT64 or ip in IPV4_TRANSLATED):  # judge the IPv4 address inside
                mapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            if mapped is None and ip in IPV4_COMPATIBLE and int(ip) > 1:  # ::a.b.c.d, deprecated
                mapped = ipaddress.IPv4Address(int(ip))
            if mapped is not None:
                ip = mapped
        if any(ip in net for net in self.allowed):
            return True
        return ip.is_global and not ip.is_multicast and ip not in METADATA

    def allows_all(self, addresses: Iterable[str]) -> bool:
        return all(self.allows(a) for a in addresses)

    def refuses_host(self, host: str) -> bool:
        """A cheap check without DNS: True for IP literals and local names that are not allowed.
        Names that need resolving are left to the crawler's middleware."""
        if self.allow_private:
            return False
        host = host.strip("[]").rstrip(".").lower()
        if host in LOCAL_NAMES or host.endswith(".localhost"):
            return not any(ipaddress.ip_address("127.0.0.1") in net for net in self.allowed)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            legacy = legacy_ipv4(host)
            return legacy is not None and not self.allows(legacy)
        return not self.allows(host)


def nat64_embedded(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a NAT64 address of the local-use prefix 64:ff9b:1::/48 may carry: one per
    RFC 6052 layout (prefix /48, /56, /64, /96) whose reserved bits (the octet at bits 64-71 and the
    suffix) are zero. Which prefix length a translator uses is its own configuration, so every layout
    that fits is judged; /96 always fits."""
    raw = ip.packed
    found = [ipaddress.IPv4Address(raw[12:16])]
    if raw[8] == 0:
        squeezed = raw[:8] + raw[9:]  # the layouts shorter than /96 skip the octet at bits 64-71
        for prefix in (48, 56, 64):
            start = prefix // 8
            if not any(squeezed[start + 4:]):
                found.append(ipaddress.IPv4Address(squeezed[start:start + 4]))
    return found


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of a host written in one of the legacy IPv4 forms that ``inet_aton``, browsers and
    getaddrinfo accept but ``ipaddress`` refuses: decimal (``2130706433``), hex (``0x7f000001``), octal
    (``0177.0.0.1``), short (``127.1``, ``0``). None for a name. A host whose last label is a number
    is such a form for a browser (WHATWG URL standard), never a name to resolve."""
    last = host.rstrip(".").rsplit(".", 1)[-1].lower()
    if not last or not (last.isascii() and (last.isdigit() or last.startswith("0x"))):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except (OSError, ValueError):
        return ipaddress.IPv4Address(0)  # numeric but not an address: refused like 0.0.0.0

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
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Named even though "not global" covers them: they are what the guard exists for.
METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
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
        env = os.environ if env is None else env
        allow = (env.get("LINKPATROL_ALLOW_PRIVATE") or "").strip().lower() in {"1", "true", "yes", "on"}
        return cls(allow_private=allow, allowed=parse_networks(env.get("LINKPATROL_ALLOWED_NETWORKS") or ""))

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
            mapped = ip.ipv4_mapped or ip.sixtofour
            if mapped is None and ip in NAT64:  # judge the IPv4 address inside
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
            return False
        return not self.allows(host)

"""A crawl's rules as the crawler applies them: which URLs are left alone (``exclude``), which hosts
are the crawled site (the seed's host, its www./bare twin, ``same_site``, ``subdomains``), which
statuses count as alive (``accept``) and where a found link is checked (``remap``: a production address
mapped to the copy being checked).

The grammar of each rule's entries is defined here once: ``records.CrawlOptions.validate`` calls the
same parsers, so whatever validation lets through, the crawler can apply.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from linkpatrol.urls import InvalidURL, host_of, normalize_url

if TYPE_CHECKING:
    from linkpatrol.records import CrawlOptions

_HOST_ENTRY = re.compile(r"[^\s/\\?#@]+")  # no scheme, path, query, fragment or user
_HOST_NAME = re.compile(r"[a-z0-9_.-]+(?::[0-9]+)?")  # what host_of gives for a name (IDNA-encoded)
_ACCEPT = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?(?:@(.*))?")
MIN_STATUS, MAX_STATUS = 100, 999


def site_host(entry: str) -> str:
    """A host a person typed (``Docs.Example.org``, ``example.org:8080``) as ``urls.host_of`` spells it:
    lowercased, IDNA-encoded, ``:port`` kept (but 80). Raises ValueError saying why."""
    text = entry.strip()
    refusal = f"{text[:80]!r} is not a host name: give one such as docs.example.org or example.org:8080"
    if not _HOST_ENTRY.fullmatch(text):
        raise ValueError(refusal)
    try:
        host = host_of(normalize_url(f"http://{text}/")[0])
    except InvalidURL:
        raise ValueError(refusal) from None
    if not host or not (_HOST_NAME.fullmatch(host) or _is_ip(_split_port(host)[0])):
        raise ValueError(refusal)
    return host


def remap_prefix(entry: str) -> str:
    """A ``remap`` prefix (``https://example.org/docs/``) in the normal form found links have, so that
    a plain string comparison finds it. Raises ValueError saying why it is not one."""
    try:
        url, fragment = normalize_url(entry)
    except InvalidURL as exc:
        raise ValueError(f"{entry[:80]!r} is not an http(s) URL prefix ({exc})") from None
    if fragment or "#" in entry:
        raise ValueError(f"{entry[:80]!r}: a URL prefix has no #fragment")
    return url


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """An ``exclude`` pattern, compiled. Raises ValueError saying why it is not a regular expression."""
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"{pattern[:80]!r} is not a regular expression ({exc})") from None


@dataclass(frozen=True)
class AcceptRule:
    """One ``accept`` entry: statuses ``low``-``high`` taken as alive, on ``host`` only when given
    (``403``, ``200-299``, ``403@github.com``, ``500-599@legacy.example.org:8080``)."""

    low: int
    high: int
    host: str = ""  # as urls.host_of spells it; "" for every host

    @classmethod
    def parse(cls, spec: str) -> AcceptRule:
        """Raises ValueError saying why ``spec`` is not an accept entry."""
        found = _ACCEPT.fullmatch(spec)
        if not found:
            raise ValueError(f"{spec[:80]!r} is not a status code or a range such as 200-299 (optionally @host)")
        low = int(found[1])
        high = int(found[2]) if found[2] is not None else low
        if not (MIN_STATUS <= low <= MAX_STATUS and MIN_STATUS <= high <= MAX_STATUS):
            raise ValueError(f"{spec[:80]!r}: status codes go from {MIN_STATUS} to {MAX_STATUS}")
        if low > high:
            raise ValueError(f"{spec[:80]!r}: a range goes from the lower code to the higher")
        try:
            host = site_host(found[3]) if found[3] is not None else ""
        except ValueError as exc:
            raise ValueError(f"{spec[:80]!r}: after @ {exc}") from None
        return cls(low, high, host)

    def matches(self, status: int, host: str) -> bool:
        return self.low <= status <= self.high and (not self.host or self.host == host)

    def __str__(self) -> str:
        codes = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        return f"{codes}@{self.host}" if self.host else codes


def _split_port(host: str) -> tuple[str, str]:
    """``("example.org", ":8080")`` from ``example.org:8080``; ``("[::1]", ":8080")`` from ``[::1]:8080``."""
    if host.startswith("["):
        name, _, port = host.partition("]")
        return f"{name}]", port
    name, colon, port = host.partition(":")
    return name, f"{colon}{port}"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class CrawlRules:
    """The rules of one crawl, compiled. Build with ``from_options`` (cached: the crawler asks once per
    crawl and per process, and equal options share one compiled set)."""

    exclude: tuple[re.Pattern[str], ...] = ()
    site: frozenset[str] = frozenset()  # hosts that are the crawled site, as urls.host_of spells them
    subdomain_suffix: str = ""  # ".example.org" (with the seed's ":port"): any host ending so is in scope
    accept: tuple[AcceptRule, ...] = ()
    remaps: tuple[tuple[str, str], ...] = ()  # (from, to) URL prefixes, the longest first

    @classmethod
    def from_options(cls, options: CrawlOptions, seed_host: str) -> CrawlRules:
        """The rules of ``options`` for a crawl whose seed is on ``seed_host`` (``urls.host_of``).
        Expects validated options (``CrawlOptions.validate``); raises ValueError otherwise."""
        return _compile(tuple(options.exclude), tuple(options.same_site), bool(options.subdomains),
                        tuple(options.accept), seed_host.lower(), tuple(options.remap.items()))

    def remap(self, url: str) -> str:
        """``url`` with the longest ``remap`` prefix it starts with replaced (a prefix ending in ``/``
        also takes the same URL without it: ``https://example.org/docs``); else ``url`` itself."""
        for source, target in self.remaps:
            if url.startswith(source):
                return target + url[len(source):]
            if source.endswith("/") and url == source[:-1]:
                return target
        return url

    def excluded(self, url: str) -> bool:
        """Whether an ``exclude`` pattern is found in ``url`` (the full normalised URL): such a URL is
        neither checked nor followed."""
        return any(pattern.search(url) for pattern in self.exclude)

    def in_scope(self, host: str) -> bool:
        """Whether ``host`` (as ``urls.host_of`` spells it) is the crawled site: the seed's host, its
        www. or bare twin on the same port, a ``same_site`` host, or with ``subdomains`` any subdomain
        of the seed's domain on the seed's port."""
        return host in self.site or bool(self.subdomain_suffix and host.endswith(self.subdomain_suffix))

    def accepted(self, status: int, host: str) -> bool:
        """Whether an ``accept`` entry takes ``status`` from ``host`` as alive (2xx is alive anyway)."""
        return any(rule.matches(status, host) for rule in self.accept)


@functools.lru_cache(maxsize=256)
def _compile(exclude: tuple[str, ...], same_site: tuple[str, ...], subdomains: bool, accept: tuple[str, ...],
             seed_host: str, remaps: tuple[tuple[str, str], ...] = ()) -> CrawlRules:
    site = {seed_host, *(site_host(h) for h in same_site)} if seed_host else {site_host(h) for h in same_site}
    suffix = ""
    name, port = _split_port(seed_host)
    if name and not _is_ip(name):
        bare = name.removeprefix("www.")
        site.add(f"{bare}{port}" if name != bare else f"www.{name}{port}")
        if subdomains:
            suffix = f".{bare}{port}"
    return CrawlRules(
        exclude=tuple(compile_pattern(p) for p in exclude),
        site=frozenset(site),
        subdomain_suffix=suffix,
        accept=tuple(AcceptRule.parse(str(spec)) for spec in accept),
        remaps=tuple(sorted(((remap_prefix(s), remap_prefix(t)) for s, t in remaps), key=lambda st: -len(st[0]))),
    )

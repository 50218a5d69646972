"""A crawl's rules as the crawler applies them: which URLs are left alone (``exclude``), which hosts
are the crawled site (the seed's host, its www./bare twin, ``same_site``, ``subdomains``), which
statuses count as alive (``accept``) and where a found link is checked (``remap``: a production address
mapped to the copy being checked).

The grammar of each rule's entries is defined here once: ``records.CrawlOptions.validate`` calls the
same parsers, so whatever validation lets through, the crawler can apply.

``exclude`` patterns run on RE2 (``google-re2``), in time linear in the URL's length: Python's ``re``
backtracks, and one pattern such as ``(a+)+$`` held a crawler (and the GIL) for hours.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import re2

from linkpatrol.model.urls import InvalidURL, host_of, normalize_url

_HOST_ENTRY = re.compile(r"[^\s/\\?#@]+")  # no scheme, path, query, fragment or user
_HOST_NAME = re.compile(r"[a-z0-9_.-]+(?::[0-9]+)?")  # what host_of gives for a name (IDNA-encoded)
_ACCEPT = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?(?:@(.*))?")
MIN_STATUS, MAX_STATUS = 100, 999
# What a crawl's exclude patterns may cost. RE2 searches in time proportional to the URL's length times
# the compiled pattern's size at worst (when its DFA gives up and its NFA runs), so the sizes of all
# patterns together are capped: 5,000 instructions cost at most about 4 ms on a 100-character URL and
# 170 ms on one of 2,048 (50 patterns built to defeat the DFA; ordinary ones take microseconds). Memory
# is RE2's budget per pattern (program and DFA cache; its default is 8 MiB).
MAX_PATTERN_PROGRAM = 5_000  # RE2 instructions of all of a crawl's patterns together
PATTERN_MEMORY = 1 << 20
MAX_REPEAT = 1000  # RE2's largest count in {n,m}, nested counts multiplied
ENGINE = "patterns run on RE2, in linear time"

_SMALLER = "use smaller counted repeats ({n}) or fewer alternatives"
_COUNT_FROM_NOTHING = re.compile(r"\{,[0-9]*\}")  # Python's {,n}: from 0 up to n times
_POSSESSIVE = re.compile(r"(?:[*+?]|\{[0-9,]*\})\+")
# What RE2 does not run, by the start of the construct its error names ("invalid perl operator: (?=").
_PERL_OPERATORS = {
    "(?=": "lookaround", "(?!": "lookaround", "(?<=": "lookaround", "(?<!": "lookaround",
    "(?>": "an atomic group (?>...)",
    "(?(": "a conditional (?(...)...)",
    "(?#": "a comment (?#...)",
}

logger = logging.getLogger(__name__)


class Pattern(Protocol):
    """A compiled ``exclude`` pattern (an RE2 regular expression)."""

    @property
    def pattern(self) -> str: ...

    @property
    def programsize(self) -> int: ...

    def search(self, text: str | bytes) -> object | None: ...


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


def compile_pattern(pattern: str) -> Pattern:
    """An ``exclude`` pattern, compiled by RE2. Raises ValueError saying why it cannot be one: not a
    regular expression, or one using what only a backtracking engine can run (backreferences,
    lookaround, possessive quantifiers, atomic groups...), named in words."""
    options = re2.Options()
    options.max_mem = PATTERN_MEMORY
    options.never_capture = True  # only "is it found" is asked: no groups to track
    options.log_errors = False  # a refused pattern is the caller's message, not a line on stderr
    try:
        return re2.compile(_as_re2(pattern), options)
    except re2.error as exc:
        raise ValueError(_refusal(pattern, exc)) from None
    except UnicodeEncodeError:
        raise ValueError(f"{_quoted(pattern)} holds a character that is not valid Unicode text") from None


def compile_patterns(patterns: Iterable[str], *, stored: bool = False) -> tuple[Pattern, ...]:
    """A crawl's ``exclude`` patterns, compiled (``compile_pattern``), their sizes within
    MAX_PATTERN_PROGRAM together. Raises ValueError naming the first one that cannot be used; with
    ``stored`` (the patterns of a crawl under way, which may have been checked with Python's ``re``
    before patterns ran on RE2) that one is left out with one warning and the crawl goes on without it."""
    compiled: list[Pattern] = []
    total = 0
    for pattern in patterns:
        try:
            found = compile_pattern(pattern)
            if total + found.programsize > MAX_PATTERN_PROGRAM:
                raise ValueError(_too_large(pattern, found.programsize, total + found.programsize))
        except ValueError as exc:
            if not stored:
                raise
            logger.warning("exclude pattern ignored: %s", exc)
            continue
        total += found.programsize
        compiled.append(found)
    return tuple(compiled)


def _as_re2(pattern: str) -> str:
    """``pattern`` with the two spellings whose meaning differs between Python's ``re`` and RE2 put in
    RE2's terms: ``\\Z`` (the end of the text; RE2 spells it ``\\z``) and ``{,n}`` (up to n times;
    a literal for RE2, so ``{0,n}``). Escapes, ``\\Q...\\E`` and character classes are left as they are."""
    out: list[str] = []
    i, end = 0, len(pattern)
    in_class = False
    while i < end:
        char = pattern[i]
        if char == "\\" and i + 1 < end:
            pair = pattern[i:i + 2]
            if pair == "\\Q":  # a literal up to \E
                close = pattern.find("\\E", i + 2)
                stop = end if close < 0 else close + 2
                out.append(pattern[i:stop])
                i = stop
                continue
            out.append("\\z" if pair == "\\Z" and not in_class else pair)
            i += 2
            continue
        if in_class:
            if pattern.startswith("[:", i):  # a POSIX class such as [:alpha:] inside [...]
                close = pattern.find(":]", i + 2)
                if close >= 0:
                    out.append(pattern[i:close + 2])
                    i = close + 2
                    continue
            in_class = char != "]"
        elif char == "[":
            in_class = True
            out.append(char)
            i += 1
            if i < end and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < end and pattern[i] == "]":  # a ] first in a class is a literal
                out.append("]")
                i += 1
            continue
        elif char == "{" and _COUNT_FROM_NOTHING.match(pattern, i):
            out.append("{0")
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _refusal(pattern: str, exc: re2.error) -> str:
    """Why RE2 refused ``pattern``, in words a person understands."""
    raw = exc.args[0] if exc.args else ""
    error = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    kind, _, arg = error.partition(": ")
    shown = _quoted(pattern)
    construct = ""
    if kind == "invalid perl operator":
        construct = _PERL_OPERATORS.get(arg[:4]) or _PERL_OPERATORS.get(arg[:3], "")
        if not construct and arg == "(?P":
            construct = ("a backreference (?P=name)" if "(?P=" in pattern
                         else "a recursive call (?P>name)" if "(?P>" in pattern else "")
        elif not construct and arg.startswith("(?") and len(arg) > 2 and arg[2].isalpha():
            flags = "".join(sorted(set(arg[2:]) - set("imsU-")))
            construct = ("verbose mode (?x)" if "x" in flags
                         else f"the inline flag (?{flags or arg[2:]}) (RE2 knows i, m, s and U)")
    elif kind == "invalid escape sequence" and len(arg) == 2:
        if arg[1] in "123456789":
            construct = f"a backreference {arg}"
        elif arg[1] in "uUN":
            construct = f"the escape {arg} (write the character itself, or \\x{{263a}})"
        else:
            construct = f"the escape {arg}"
    elif kind == "bad repetition operator" and _POSSESSIVE.fullmatch(arg):
        construct = f"a possessive quantifier {arg}"
    elif kind == "invalid repetition size":
        nested = all(int(n) <= MAX_REPEAT for n in re.findall(r"[0-9]+", arg))
        return (f"{shown} repeats something more than {MAX_REPEAT} times ({arg}"
                f"{', times the counts it is inside' if nested else ''}), which is not supported ({ENGINE})")
    elif error.startswith("pattern too large"):
        return (f"{shown} is too large once compiled (over RE2's {PATTERN_MEMORY >> 20} MiB a pattern): "
                f"{_SMALLER}")
    if construct:
        return f"{shown} uses {construct}, which is not supported ({ENGINE})"
    return f"{shown} is not a regular expression ({error})"


def _quoted(pattern: str) -> str:
    """``pattern`` (its first 80 characters) quoted for a message: control characters escaped, a
    backslash shown once, as the person typed it."""
    return repr(pattern[:80]).replace("\\\\", "\\")


def _too_large(pattern: str, size: int, total: int) -> str:
    if size > MAX_PATTERN_PROGRAM:
        return (f"{_quoted(pattern)} is too large once compiled ({size:,} RE2 instructions, at most "
                f"{MAX_PATTERN_PROGRAM:,} for all patterns together): {_SMALLER}")
    return (f"with {_quoted(pattern)} the patterns compile to {total:,} RE2 instructions together, at most "
            f"{MAX_PATTERN_PROGRAM:,}: {_SMALLER}, or fewer patterns")


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


class RuleOptions(Protocol):
    """What the rules read of a crawl's options (``linkpatrol.model.options.CrawlOptions``, which builds
    on this module and so is not imported here)."""

    exclude: list[str]
    same_site: list[str]
    subdomains: bool
    accept: list[str]
    remap: dict[str, str]


@dataclass(frozen=True)
class CrawlRules:
    """The rules of one crawl, compiled. Build with ``from_options`` (cached: the crawler asks once per
    crawl and per process, and equal options share one compiled set)."""

    exclude: tuple[Pattern, ...] = ()
    site: frozenset[str] = frozenset()  # hosts that are the crawled site, as urls.host_of spells them
    subdomain_suffix: str = ""  # ".example.org" (with the seed's ":port"): any host ending so is in scope
    accept: tuple[AcceptRule, ...] = ()
    remaps: tuple[tuple[str, str], ...] = ()  # (from, to) URL prefixes, the longest first

    @classmethod
    def from_options(cls, options: RuleOptions, seed_host: str) -> CrawlRules:
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
        if not self.exclude:
            return False
        text = url.encode("utf-8", "surrogatepass")  # once, not once a pattern
        return any(pattern.search(text) for pattern in self.exclude)

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
        exclude=compile_patterns(exclude, stored=True),
        site=frozenset(site),
        subdomain_suffix=suffix,
        accept=tuple(AcceptRule.parse(str(spec)) for spec in accept),
        remaps=tuple(sorted(((remap_prefix(s), remap_prefix(t)) for s, t in remaps), key=lambda st: -len(st[0]))),
    )

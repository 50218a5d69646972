"""The wire format: the only encoder and decoder of what linkpatrol stores in Redis and passes around.

- ``LinkResult``: one checked url, stored once per url in the crawl's ``urls`` hash (compact JSON,
  empty fields left out: bytes per url is what Redis sizing is about);
- ``ReportRecord``: the compact part of a result that report pages filter and list, and the report
  index of an ended crawl (``encode_report_index``, ``decode_report_index``);
- ``Referrer``: one page linking to a url, a JSON list in the url's referrer list;
- ``FrontierMessage``: one unit of work in a crawl's queue (``{"u": url, "k": kind, "d": depth}``);
- ``FoundLink`` and ``Completion``: what the crawler hands the frontier's COMPLETE script;
- ``CachedCheck``: a link to another site found ok, shared by every crawl for a while;
- ``KnownPage``: a page of a site as its last full read left it (validators, links, anchors), kept per
  site so a re-crawl asks whether it changed and reuses its links when it did not (compressed JSON);

What a crawler reads from the start queue, untrusted input of its own kind, is decoded (and refused) by
``linkpatrol.model.start_messages``.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from linkpatrol.model.urls import InvalidURL, normalize_url
from linkpatrol.model.verdicts import LEGACY_MISSING_ANCHOR, CheckMethod, ErrorKind, Outcome, describe, status_class

# json.dumps(obj, separators=...) builds a new encoder at every call; these are called per link.
compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# What compact_json writes for a str (its encoder with ensure_ascii=False): the per-link encoders below
# write their few fields with it, the same text three times faster (tests/core/test_wire.py compares).
_json_str = json.encoder.encode_basestring


def anchor_hash(name: str) -> str:
    """What the frontier keeps of an anchor: 8 hex digits of a hash, a quarter of a typical id's bytes.
    Two ids of one page that share it would hide one missing anchor: about 1 in 100 million links."""
    return hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


@dataclass
class Referrer:
    page: str
    text: str
    element: str
    fragment: str
    line: int = 0  # the line of the linking element in the page's source (0: unknown)

    def encode(self) -> str:
        """``compact_json([page, text, element, fragment])``, the line appended when known."""
        line = f",{int(self.line)}" if self.line else ""
        return (f"[{_json_str(self.page)},{_json_str(self.text)},{_json_str(self.element)},"
                f"{_json_str(self.fragment)}{line}]")

    @classmethod
    def decode(cls, raw: str) -> Referrer:
        return cls(*json.loads(raw))

    def to_dict(self) -> dict[str, Any]:
        return {"page": self.page, "text": self.text, "element": self.element, "fragment": self.fragment,
                "line": self.line or None}


@dataclass(frozen=True)
class CachedFrom:
    """Where a result decided from the shared link cache was found: by crawl ``crawl``, at ``at``
    (Unix time). Reports say "checked 2h ago by crawl <id>"."""

    crawl: str
    at: float


@dataclass
class LinkResult:
    """What checking one url found. ``status`` is the final HTTP status, or None with ``error``.
    ``cached``: the result is another crawl's, from the shared link cache (``CachedCheck``)."""

    url: str
    outcome: str
    status: int | None = None
    error: str | None = None
    final_url: str | None = None
    redirects: list[list[Any]] = field(default_factory=list)  # [[url, status], ...] hop by hop
    content_type: str | None = None
    external: bool = False
    referrers: list[Referrer] = field(default_factory=list)
    referrer_count: int = 0
    cached: CachedFrom | None = None

    @property
    def status_class(self) -> str:
        return status_class(self.status)

    @property
    def verdict(self) -> Outcome:
        return Outcome(self.outcome)

    @property
    def is_html(self) -> bool:
        return (self.content_type or "").lower() in ("text/html", "application/xhtml+xml")

    @property
    def description(self) -> str:
        """``HTTP 404``, or the failure kind."""
        return describe(self.status, self.error, self.outcome)

    def to_json(self) -> str:
        data: dict[str, Any] = {"o": str(self.outcome)}
        if self.status is not None:
            data["s"] = self.status
        if self.error:
            data["e"] = str(self.error)
        if self.final_url:
            data["f"] = self.final_url
        if self.redirects:
            data["r"] = self.redirects
        if self.content_type:
            data["t"] = self.content_type
        if self.external:
            data["x"] = 1
        if self.cached is not None:
            data["c"] = [self.cached.crawl, round(self.cached.at, 3)]
        return compact_json(data)

    @classmethod
    def from_json(cls, url: str, raw: str) -> LinkResult:
        d = json.loads(raw)
        cached = d.get("c")
        return cls(
            url=url,
            outcome=d["o"],
            status=d.get("s"),
            error=_error(d.get("e")),
            final_url=d.get("f"),
            redirects=d.get("r") or [],
            content_type=d.get("t"),
            external=bool(d.get("x")),
            cached=CachedFrom(str(cached[0]), float(cached[1])) if cached else None,
        )


def _error(stored: str | None) -> str | None:
    """An error kind as stored; one written before one spelling per outcome is read in today's."""
    return ErrorKind.MISSING_ANCHOR.value if stored == LEGACY_MISSING_ANCHOR else stored


@dataclass(slots=True)
class ReportRecord:
    """One checked url as report pages filter, sort and list it: the compact part of its
    ``LinkResult`` (the number of redirects, not the hops), and, for the rows shown, its referrers.
    The report index (``encode_report_index``) stores a crawl's records."""

    url: str
    outcome: str
    status: int | None = None
    error: str | None = None
    external: bool = False
    final_url: str | None = None
    hops: int = 0
    cached: CachedFrom | None = None
    referrer_count: int = 0
    referrers: list[Referrer] = field(default_factory=list)

    @classmethod
    def of(cls, res: LinkResult) -> ReportRecord:
        return cls(res.url, str(res.outcome), res.status, res.error, res.external, res.final_url, len(res.redirects),
                   res.cached, res.referrer_count, res.referrers)

    def to_result(self) -> LinkResult:
        """The result this record lists (its redirects counted, not kept)."""
        return LinkResult(self.url, self.outcome, self.status, self.error, self.final_url, external=self.external,
                          referrers=self.referrers, referrer_count=self.referrer_count, cached=self.cached)

    @property
    def status_class(self) -> str:
        return status_class(self.status)

    @property
    def status_text(self) -> str:
        return str(self.status) if self.status is not None else (self.error or "error")

    def row(self) -> list[Any]:
        """Its row in the report index: ``[url, outcome, status, error, external, final url, hops]``
        and, for a cached result, ``crawl, at``."""
        row: list[Any] = [self.url, self.outcome, self.status, self.error, self.external, self.final_url, self.hops]
        if self.cached is not None:
            row += [self.cached.crawl, round(self.cached.at, 3)]
        return row

    @classmethod
    def from_row(cls, row: list[Any]) -> ReportRecord:
        """The record of a row ``row()`` wrote (its values typed as they were, its error spelt as today)."""
        if len(row) == 7:
            return cls(*row)
        return cls(*row[:7], CachedFrom(str(row[7]), float(row[8])))  # type: ignore[misc, call-arg]


# The report index's first line: its format and the crawl version (its checked count) it was built for.
# An index of another format (the tab-separated one of earlier versions: "v<version>") reads as none:
# it is built again from the crawl's results, which it only caches.
REPORT_INDEX_FORMAT = "r2"


def encode_report_index(version: int, records: list[ReportRecord]) -> str:
    """A crawl's report records (sorted by url) as the report index stores them: a first line
    ``r2 <version>``, then one compact JSON array of ``ReportRecord.row``."""
    return f"{REPORT_INDEX_FORMAT} {version}\n" + compact_json([rec.row() for rec in records])


def decode_report_index(blob: str, version: int) -> list[ReportRecord] | None:
    """The records of an index, or None when it was built for another version of the crawl, or in
    another format (to be built again)."""
    head, _, body = blob.partition("\n")
    if head != f"{REPORT_INDEX_FORMAT} {version}":
        return None
    try:
        make, rows = ReportRecord.from_row, json.loads(body)
        return [make(row) for row in rows]
    except (ValueError, TypeError, IndexError):
        return None


class MessageKind(StrEnum):
    PAGE = "page"  # fetched with GET and parsed when it is HTML in scope
    CHECK = "check"  # only checked
    INVALID_URL = "invalid-url"  # nothing to fetch: reported dead at once
    UNSUPPORTED = "unsupported"  # nothing to fetch: a scheme we do not check
    SITEMAP = "sitemap"  # a sitemap (urlset or index, maybe gzipped): read for the urls it lists


def _encoded_message(url_json: str, kind: MessageKind, depth: int, attempts: int = 0) -> str:
    """A frontier message as ``FrontierMessage.encode`` writes it, from its url already JSON-encoded."""
    more = f',"a":{int(attempts)}' if attempts else ""
    return f'{{"u":{url_json},"k":"{kind}","d":{int(depth)}{more}}}'  # a kind's value needs no escape


@dataclass(frozen=True)
class FrontierMessage:
    url: str
    kind: MessageKind
    depth: int = 0
    # Crawlers that stopped answering while they held this message ("a", counted by REQUEUE).
    attempts: int = 0

    def encode(self) -> str:
        """``compact_json({"u": url, "k": kind, "d": depth})``, ``"a"`` added when a crawler that held it died."""
        return _encoded_message(_json_str(self.url), self.kind, self.depth, self.attempts)

    @classmethod
    def decode(cls, raw: str) -> FrontierMessage:
        d = json.loads(raw)
        return cls(d["u"], MessageKind(d["k"]), int(d.get("d", 0)), int(d.get("a", 0)))


@dataclass(frozen=True)
class FoundLink:
    """A link found on a checked page. A page link counts against the crawl's page budget: over it,
    the frontier queues the same url as a check instead."""

    target: str
    message: FrontierMessage
    referrer: Referrer | None = None
    anchor: str = ""  # the id the link's fragment names, when the crawl checks it ("" otherwise)

    def args(self) -> tuple[str, str, str, str, str]:
        """The five COMPLETE arguments of this link."""
        message = self.message
        url_json = _json_str(message.url)  # once for both encodings of a page link
        encoded = _encoded_message(url_json, message.kind, message.depth, message.attempts)
        # A page link over the budget is queued as a check of the same url and depth, without attempts.
        over_budget = _encoded_message(url_json, MessageKind.CHECK, message.depth) \
            if message.kind is MessageKind.PAGE else ""
        anchor = f"{anchor_hash(self.anchor)}\t{self.anchor}" if self.anchor else ""
        return (self.target, encoded, over_budget, self.referrer.encode() if self.referrer else "", anchor)


@dataclass
class Completion:
    """One checked frontier message: its result and, for a parsed page, the links it holds. The
    crawler's item is this record (``crawler.items.CheckedLink``: a dataclass item, read as it is by
    the pipeline, which hands it to the frontier's LINKS and COMPLETE).
    ``promoted``: parsed although it was queued as a check (an in-scope target found by a ``<link>``,
    ``<img>``... that answered HTML); it takes its place in the page budget when recorded."""

    crawl_id: str
    result: LinkResult
    is_page: bool = False  # fetched and parsed as a page of the site
    links: list[FoundLink] = field(default_factory=list)
    promoted: bool = False
    method: CheckMethod = CheckMethod.GET  # how the result was decided
    retries: int = 0
    anchors: set[str] | None = None  # the page's ids and <a name>s; None when not read
    from_sitemap: bool = False  # the links are a sitemap's listing, not a page's links
    # What the crawler left out of the page, for COMPLETE to count: links past the per-page cap, not
    # taken; the cap that applied (0: the crawler's per-page cap; a sitemap's is higher); whether the
    # crawl's depth limit turned some of its page links into checks.
    links_over_cap: int = 0
    link_cap: int = 0
    depth_limited: bool = False
    release_only: bool = False  # the crawl was cancelled: give the lease back, record nothing

    def alone(self) -> Completion:
        """This result without what the page held (its links, anchors, what was left out)."""
        return Completion(self.crawl_id, self.result, method=self.method, retries=self.retries)

    @property
    def anchors_arg(self) -> str:
        """The anchors as COMPLETE takes them: their hashes, ``"\nh1\nh2\n"`` ("" when not read)."""
        if self.anchors is None:
            return ""
        return "\n" + "".join(f"{h}\n" for h in sorted({anchor_hash(name) for name in self.anchors}))

    @property
    def landing(self) -> str:
        """The page a redirected url landed on, when that page's anchors decide the #fragments asked of
        the url: the page it queued in its place (a redirect within the site, read in its turn), or
        the one whose anchors it read itself (another host's page, ``check_fragments: all``); ""
        otherwise (not redirected, or the landing page is not read for anchors)."""
        res = self.result
        if not res.redirects or not res.final_url:
            return ""
        try:
            final = normalize_url(res.final_url)[0]
        except InvalidURL:
            return ""
        if final != res.url and (self.anchors is not None or any(link.target == final for link in self.links)):
            return final
        return ""

    @property
    def page_flag(self) -> str:
        if not self.is_page:
            return "0"
        return "p" if self.promoted else "1"


# A known page's stored form past this many bytes (compressed) is not kept: its page is read in full
# at every crawl. One HSET of it stays a bounded call (10,000 links compress to about 200 kB).
MAX_KNOWN_PAGE = 256 * 1024


@dataclass
class KnownPage:
    """A page of a site as its last full read left it: its validators (``ETag``, ``Last-Modified``),
    what its read gave (the links sent for it, its anchors, links past the cap, whether the depth limit
    held page links back), ``read_at``: when the crawl that read it was created (the site's crawls since
    then are counted to bound its reuse), and ``fingerprint``: what of the crawl's options and limits
    decided those links (a crawl that decides them otherwise reads the page again). Links are kept
    without their depth (the reusing crawl's)."""

    etag: str
    last_modified: str
    fingerprint: str
    links: list[FoundLink] = field(default_factory=list)
    anchors: set[str] | None = None
    status: int = 200
    content_type: str | None = None
    over_cap: int = 0
    depth_limited: bool = False
    read_at: float = 0.0

    def encode(self) -> bytes:
        """zlib-compressed compact JSON; a link is ``[target, kind, text, element, fragment, line,
        anchor, referring page]`` (the page only when it is not the first link's)."""
        links = []
        first_page = self.links[0].referrer.page if self.links and self.links[0].referrer else ""
        for link in self.links:
            ref = link.referrer or Referrer("", "", "", "")
            row: list[Any] = [link.target, str(link.message.kind), ref.text, ref.element, ref.fragment, ref.line,
                              link.anchor]
            if ref.page != first_page:
                row.append(ref.page)
            links.append(row)
        data: dict[str, Any] = {"e": self.etag, "m": self.last_modified, "f": self.fingerprint, "p": first_page,
                                "l": links, "s": self.status, "r": self.read_at}
        if self.anchors is not None:
            data["a"] = sorted(self.anchors)
        if self.content_type:
            data["t"] = self.content_type
        if self.over_cap:
            data["c"] = self.over_cap
        if self.depth_limited:
            data["d"] = 1
        return zlib.compress(compact_json(data).encode("utf-8", "surrogatepass"))

    @classmethod
    def decode(cls, raw: bytes) -> KnownPage:
        """The page ``encode`` stored; ValueError for anything else (``zlib.error`` included)."""
        try:
            d = json.loads(zlib.decompress(raw).decode("utf-8", "surrogatepass"))
            first_page = d["p"]
            links = [FoundLink(row[0], FrontierMessage(row[0], MessageKind(row[1])),
                               Referrer(row[7] if len(row) > 7 else first_page, row[2], row[3], row[4], row[5]),
                               row[6]) for row in d["l"]]
            return cls(str(d["e"]), str(d["m"]), str(d["f"]), links, set(d["a"]) if "a" in d else None,
                       int(d["s"]), d.get("t"), int(d.get("c", 0)), bool(d.get("d")), float(d["r"]))
        except (zlib.error, KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"not a known page: {exc}") from None


@dataclass(frozen=True)
class CachedCheck:
    """A link to another site that a crawl found ok (``crawl_id``, at ``at``, Unix time), reused by every
    crawl while its entry lives (``Keys.link_cache``)."""

    result: LinkResult
    crawl_id: str
    at: float

    def encode(self) -> str:
        return compact_json({"u": self.result.url, "c": self.crawl_id, "at": round(self.at, 3),
                             "r": self.result.to_json()})

    @classmethod
    def decode(cls, raw: str) -> CachedCheck:
        d = json.loads(raw)
        return cls(LinkResult.from_json(d["u"], d["r"]), str(d["c"]), float(d["at"]))

    def as_result(self) -> LinkResult:
        """The result a crawl records when this entry decides its link: the same, saying where from."""
        return replace(self.result, cached=CachedFrom(self.crawl_id, self.at), referrers=[], referrer_count=0)

"""Creating crawls from what a person or a client sent: validation, the seed guard, the rate limit.

Shared by the form (``crawls``) and the JSON API (``api``), so both say the same thing about bad input.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, session

from crawler.addresses import AddressPolicy
from crawler.storage import MAX_NOTIFY, Crawl, CrawlOptions, CrawlStore, InvalidOption
from crawler.urls import InvalidURL, normalize_url

EMAIL = re.compile(r"^[^@\s,;<>\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
MAX_LIMIT = 1_000_000
FIELDS = ("url", "max_pages", "max_depth", "respect_robots", "check_external", "notify", "site_concurrency",
          "site_rate")


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


def _whole(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOption(name, "must be a whole number")
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise InvalidOption(name, "must be a whole number, 0 or more")
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise InvalidOption(name, "must be a whole number, 0 or more")
    if value > MAX_LIMIT:
        raise InvalidOption(name, f"must be at most {MAX_LIMIT:,}")
    return value


def _rate(name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidOption(name, "must be a number of requests per second") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOption(name, "must be a number of requests per second")
    return float(value)


def _flag(name: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "on", "yes"}:
        return True
    if isinstance(value, str) and value.lower() in {"0", "false", "off", "no", ""}:
        return False
    raise InvalidOption(name, "must be true or false")


def _emails(value: Any, form: bool) -> list[str]:
    if value is None or (form and value == ""):
        return []
    items = re.split(r"[\s,;]+", value) if form and isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise InvalidOption("notify", "must be a list of email addresses")
    out = [v.strip() for v in items if v.strip()]
    if len(out) > MAX_NOTIFY:
        raise InvalidOption("notify", f"at most {MAX_NOTIFY} addresses")
    for addr in out:
        if len(addr) > 254 or not EMAIL.match(addr):
            raise InvalidOption("notify", f"{addr[:80]!r} is not an email address")
    return list(dict.fromkeys(out))


def parse_request(data: Mapping[str, Any], *, form: bool = False) -> tuple[str, CrawlOptions]:
    """Validate a crawl request. Raises InvalidOption naming the field (``url`` for a bad URL)."""
    raw = data.get("url")
    if not isinstance(raw, str):
        raise InvalidOption("url", "is required: the address of the site to check")
    try:
        url, _ = normalize_url(raw)
    except InvalidURL as exc:
        raise InvalidOption("url", str(exc)) from None
    policy: AddressPolicy = current_app.config["ADDRESS_POLICY"]
    if policy.refuses_host(urlsplit(url).hostname or ""):
        raise InvalidOption("url", "this address is on a private or local network, which this "
                                   "server does not check")
    # A form sends unchecked checkboxes as absent: absent means false there, default in JSON.
    options = CrawlOptions(
        max_pages=_whole("max_pages", data.get("max_pages")),
        max_depth=_whole("max_depth", data.get("max_depth")),
        respect_robots=_flag("respect_robots", data.get("respect_robots", "" if form else None), True),
        check_external=_flag("check_external", data.get("check_external", "" if form else None), True),
        notify=_emails(data.get("notify"), form),
        site_concurrency=_whole("site_concurrency", data.get("site_concurrency")),
        site_rate=_rate("site_rate", data.get("site_rate")),
    )
    return url, options.validate()


def client_identity() -> str:
    if session.get("user"):
        return f"user:{session['user']}"
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and current_app.config["API_TOKEN"]:
        return "token"
    return f"ip:{request.remote_addr or 'unknown'}"


def check_rate_limit(store: CrawlStore) -> None:
    """A fixed-window counter per client in Redis. Raises RateLimited when over the limit."""
    limit, window = current_app.config["RATE_LIMIT"], current_app.config["RATE_WINDOW"]
    if not limit:
        return
    now = time.time()
    slot = int(now // window)
    key = store.keys.rate_limit(client_identity(), slot)
    pipe = store.r.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window + 1)
    count = pipe.execute()[0]
    if count > limit:
        raise RateLimited(max(1, int((slot + 1) * window - now) + 1))


def create(store: CrawlStore, data: Mapping[str, Any], *, form: bool = False) -> Crawl:
    url, options = parse_request(data, form=form)
    check_rate_limit(store)
    return store.create(url, options)


def rerun(store: CrawlStore, crawl: Crawl) -> Crawl:
    check_rate_limit(store)
    return store.create(crawl.url, crawl.options)

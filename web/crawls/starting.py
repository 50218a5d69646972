"""Starting crawls from what a person or a client sent: the url and the seed guard, the options
(validated by ``linkpatrol.model.records.parse_options``, as for the command line and start messages) and
the rate limit. Shared by the form (``crawls``) and the JSON API (``api``), so both say the same thing
about bad input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request

from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.options import CrawlOptions, InvalidOption, parse_options
from linkpatrol.model.records import Crawl, Origin
from linkpatrol.model.urls import InvalidURL, normalize_url
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.watch.webhooks import refused as refused_webhooks
from web.auth.views import identity
from web.errors import RateLimited


def parse_request(data: Mapping[str, Any], *, form: bool = False) -> tuple[str, CrawlOptions]:
    """Validate a crawl request. Raises InvalidOption naming the field (``url`` for a bad URL, the
    field itself for an option the API does not know)."""
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
    options = parse_options({k: v for k, v in data.items() if k != "url"}, form=form)
    if reason := refused_webhooks(options.webhooks, policy):
        raise InvalidOption("webhooks", reason)
    return url, options


def client_identity() -> str:
    """The rate limit's bucket: the authenticated identity (a checked login, token or HTTP basic pair),
    else the client's address. A credential that was not checked (any made-up bearer token) counts as
    anonymous, never in the bucket of the one it imitates."""
    return identity() or f"ip:{request.remote_addr or 'unknown'}"


def check_rate_limit(store: CrawlStore) -> None:
    """A fixed-window counter per client. Raises RateLimited when over the limit."""
    limit, window = current_app.config["RATE_LIMIT"], current_app.config["RATE_WINDOW"]
    if not limit:
        return
    count, seconds_left = store.count_request(client_identity(), window)
    if count > limit:
        raise RateLimited(max(1, int(seconds_left) + 1))


def create(store: CrawlStore, data: Mapping[str, Any], *, form: bool = False) -> Crawl:
    url, options = parse_request(data, form=form)
    check_rate_limit(store)
    return store.create(url, options, Origin.UI if form else Origin.API)


def rerun(store: CrawlStore, crawl: Crawl) -> Crawl:
    """The same crawl again, with the same options and request headers."""
    check_rate_limit(store)
    options = crawl.options.with_headers(store.crawl_headers(crawl.id))
    return store.create(crawl.url, options.with_webhook_secret(store.webhook_secret(crawl.id)), Origin.UI)

"""A url's item from what happened to it: an answer (its status, redirects, type; cut at the cap, or
read without the browser it needed), a download failure (named by ``crawler/failures.py``), or a
verdict reached without a request. How it was checked (HEAD, GET, both, a browser, a host verdict)
and how often it was retried are read from the request, so the report says so."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.downloadermiddlewares.link_cache import CachedResult
from crawler.failures import HOST_KINDS, CancelledCrawl, HostFailed, error_kind
from crawler.frontier.contexts import CrawlContexts
from crawler.frontier.host_verdicts import HostVerdicts
from crawler.items import CheckedLink
from crawler.render.routing import Parked
from linkpatrol.model.urls import host_of
from linkpatrol.model.verdicts import CheckMethod, ErrorKind, Outcome, outcome_for_status
from linkpatrol.model.wire import LinkResult

logger = logging.getLogger(__name__)


def check_method(request: Request) -> CheckMethod:
    if request.meta.get("playwright"):
        return CheckMethod.RENDER
    if request.meta.get("lp_head_status") is not None:
        return CheckMethod.HEAD_GET
    return CheckMethod.HEAD if request.method == "HEAD" else CheckMethod.GET


def retries(meta: dict[str, Any]) -> int:
    return int(meta.get("retry_times", 0)) + int(meta.get("lp_rate_retries", 0))


def item_of(lp: dict[str, Any], result: LinkResult, request: Request) -> CheckedLink:
    return CheckedLink(lp["crawl"], result, method=check_method(request), retries=retries(request.meta))


def decided(crawl_id: str, url: str, kind: ErrorKind, external: bool, method: CheckMethod = CheckMethod.NONE,
            ) -> CheckedLink:
    """A link decided without a request."""
    return CheckedLink(crawl_id, LinkResult(url, kind.outcome, error=kind, external=external), method=method)


def result_of(response: Response, contexts: CrawlContexts) -> LinkResult:
    """The url's result from its answer: the status's outcome (a status the crawl accepts is ok), the
    redirect hops, the media type; a page cut at the size cap or read without a browser is a warning."""
    meta = response.meta
    lp = meta["lp"]
    hops = [[u, s] for u, s in zip(meta.get("redirect_urls", []), meta.get("redirect_reasons", []), strict=False)]
    ctype = response.headers.get(b"Content-Type")
    ctx = contexts.get(lp["crawl"])
    outcome = outcome_for_status(response.status, bool(meta.get("lp_retry_after")))
    if outcome is not Outcome.OK and ctx is not None and ctx.accepted(response.status, host_of(response.url)):
        outcome = Outcome.OK
    error = None
    if outcome is Outcome.OK and lp.get("truncated"):
        outcome, error = ErrorKind.TOO_LARGE.outcome, ErrorKind.TOO_LARGE
    elif outcome is Outcome.OK and lp.get("not_rendered"):  # crawler/render: needed a browser, read without
        outcome, error = ErrorKind.NOT_RENDERED.outcome, ErrorKind.NOT_RENDERED
    return LinkResult(
        url=lp["url"],
        outcome=outcome,
        status=response.status,
        error=error,
        final_url=response.url if hops else None,
        redirects=hops,
        content_type=ctype.decode("latin-1").split(";", 1)[0].strip() if ctype else None,
        external=lp["external"],
    )


def answered(response: Response, contexts: CrawlContexts) -> CheckedLink:
    """The item of a url whose callback failed: the answer as it came, the failure logged."""
    lp = response.meta["lp"]
    logger.exception("could not read %s; its answer (%s) is recorded alone", lp["url"], response.status)
    try:
        return item_of(lp, result_of(response, contexts), response.request or Request(response.url))
    except Exception:
        result = LinkResult(lp["url"], outcome_for_status(response.status, False), status=response.status,
                            external=bool(lp.get("external")))
        return CheckedLink(lp["crawl"], result)


def failed(failure: Failure, host_verdicts: HostVerdicts) -> CheckedLink | None:
    """The item of a url whose request failed, None for one parked until a crawler that renders takes
    it. A failure that says the whole host is unreachable is noted for the crawl's host verdicts."""
    request = failure.request  # type: ignore[attr-defined]
    lp = request.meta["lp"]
    exc = failure.value
    hops = [[u, s] for u, s in zip(request.meta.get("redirect_urls", []),
                                    request.meta.get("redirect_reasons", []), strict=False)]
    if isinstance(exc, Parked):  # waits for a crawler that renders (crawler/render): nothing to record
        return None
    if isinstance(exc, CancelledCrawl):
        return CheckedLink(lp["crawl"], LinkResult(lp["url"], Outcome.EXCLUDED), release_only=True)
    if isinstance(exc, CachedResult):  # found ok by a recent crawl: the shared link cache
        return CheckedLink(lp["crawl"], exc.result, method=CheckMethod.CACHE)
    kind = error_kind(exc) if isinstance(exc, BaseException) else ErrorKind.CONNECTION_FAILED
    method = CheckMethod.HOST if isinstance(exc, HostFailed) else check_method(request)
    if kind in HOST_KINDS and method is not CheckMethod.HOST:
        host_verdicts.note_failure(lp["crawl"], host_of(request.url), kind)
    logger.debug("%s failed: %s (%s)", lp["url"], kind, exc)
    result = LinkResult(lp["url"], kind.outcome, error=kind, external=lp["external"],
                        final_url=request.url if hops else None, redirects=hops)
    return CheckedLink(lp["crawl"], result, method=method, retries=retries(request.meta))

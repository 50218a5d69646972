"""Decides a request at once when the crawl already knows its host is dead (the name does not
resolve, the port refuses connections): no request, no politeness pacing. It runs before the shared
politeness, so a thousand links to a host that does not exist cost no waiting."""

from __future__ import annotations

from scrapy import Request

from crawler.downloadermiddlewares import FrontierMiddleware
from crawler.extensions.frontier import FrontierExtension
from crawler.failures import HostFailed
from linkpatrol.model.urls import host_of
from linkpatrol.model.verdicts import ErrorKind


def known_host_failure(request: Request, frontier: FrontierExtension) -> ErrorKind | None:
    lp = request.meta.get("lp")
    return frontier.host_verdict(lp["crawl"], host_of(request.url)) if lp else None


class HostVerdictMiddleware(FrontierMiddleware):
    def process_request(self, request: Request) -> None:
        kind = known_host_failure(request, self.frontier)
        if kind is not None:
            raise HostFailed(kind, host_of(request.url))

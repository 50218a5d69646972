"""Decides a request at once when the crawl already knows its host is dead (the name does not
resolve, the port refuses connections): no request, no politeness pacing. It runs before the shared
politeness, so a thousand links to a host that does not exist cost no waiting."""

from __future__ import annotations

from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.extensions.frontier import frontier_of
from crawler.failures import HostFailed
from crawler.frontier.host_verdicts import HostVerdicts
from linkpatrol.model.urls import host_of
from linkpatrol.model.verdicts import ErrorKind


def known_host_failure(request: Request, verdicts: HostVerdicts) -> ErrorKind | None:
    lp = request.meta.get("lp")
    return verdicts.verdict(lp["crawl"], host_of(request.url)) if lp else None


class HostVerdictMiddleware:
    def __init__(self, verdicts: HostVerdicts) -> None:
        self.verdicts = verdicts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(frontier_of(crawler).host_verdicts)

    def process_request(self, request: Request) -> None:
        kind = known_host_failure(request, self.verdicts)
        if kind is not None:
            raise HostFailed(kind, host_of(request.url))

"""The reference: a plain in-memory Scrapy spider on the same site, same extractor, same settings
(concurrency, HEAD for resources), no Redis. Prints one JSON line: seconds, urls, pages, dead."""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import HtmlResponse, Response

from crawler.extract import extract_links
from linkpatrol.model.urls import host_of


class ReferenceSpider(scrapy.Spider):
    name = "reference"

    def __init__(self, seed: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.scope = host_of(seed)
        self.seen: set[str] = {seed}
        self.dead: set[str] = set()
        self.checked = 0
        self.pages = 0

    async def start(self) -> Any:
        yield scrapy.Request(self.seed, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        self._record(response)
        if not isinstance(response, HtmlResponse) or response.status != 200:
            return
        self.pages += 1
        for link in extract_links(response):
            if link.target in self.seen or link.problem:
                continue
            self.seen.add(link.target)
            page = link.follow and host_of(link.target) == self.scope
            yield scrapy.Request(link.target, method="GET" if page else "HEAD",
                                 callback=self.parse if page else self._record, dont_filter=True)

    def _record(self, response: Response) -> None:
        self.checked += 1
        if response.status >= 400:
            self.dead.add(response.url)


def main() -> None:
    seed = sys.argv[1]
    loop = (sys.argv[2] if len(sys.argv) > 2 else "") or None
    process = CrawlerProcess(settings={
        "LOG_LEVEL": "WARNING", "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "HTTPERROR_ALLOW_ALL": True, "ROBOTSTXT_OBEY": True, "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False, "RETRY_ENABLED": False,
        "DOWNLOAD_VERIFY_CERTIFICATES": True, "ASYNCIO_EVENT_LOOP": loop,
    })
    crawler = process.create_crawler(ReferenceSpider)
    process.crawl(crawler, seed=seed)
    process.start()
    spider: Any = crawler.spider
    assert crawler.stats is not None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": crawler.stats.get_value("elapsed_time_seconds"),
                      "cpu_s": usage.ru_utime + usage.ru_stime, "urls": spider.checked, "pages": spider.pages,
                      "dead": sorted(spider.dead)}))


if __name__ == "__main__":
    main()

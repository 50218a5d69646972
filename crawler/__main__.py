"""Command line for operators and scripts.

    python -m crawler enqueue URL [--max-pages N] [--max-depth N] [--no-robots] [--no-external]
                                  [--notify EMAIL ...] [--site-concurrency N] [--site-rate R] [--wait]
    python -m crawler status ID         the crawl record as JSON
    python -m crawler report ID         the broken links as JSON
    python -m crawler list              recent crawls, one JSON object a line
    python -m crawler cancel ID
    python -m crawler delete ID
    python -m crawler workers           live crawler processes
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import redis

from crawler.config import Config
from crawler.storage import CrawlOptions, CrawlStore, InvalidOption, InvalidURL
from crawler.workers import list_workers


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _depth(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crawler", description="linkpatrol crawl control")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("enqueue", help="start a crawl; prints its id")
    e.add_argument("url")
    e.add_argument("--max-pages", type=_positive)
    e.add_argument("--max-depth", type=_depth)
    e.add_argument("--no-robots", action="store_true", help="do not obey robots.txt")
    e.add_argument("--no-external", action="store_true", help="do not check links to other hosts")
    e.add_argument("--notify", action="append", default=[], metavar="EMAIL")
    e.add_argument("--site-concurrency", type=_positive, help="requests under way to the site at once, all crawlers")
    e.add_argument("--site-rate", type=float, help="requests per second to the site, all crawlers together")
    e.add_argument("--wait", action="store_true", help="wait until the crawl ends, then print its record")
    for name in ("status", "cancel", "delete"):
        sub.add_parser(name).add_argument("id")
    r = sub.add_parser("report", help="broken links as JSON")
    r.add_argument("id")
    r.add_argument(
        "--include",
        default="dead",
        help="comma-separated outcomes to list (dead, blocked, rate_limited, excluded, unsupported)",
    )
    lst = sub.add_parser("list")
    lst.add_argument("--limit", type=_positive, default=20)
    sub.add_parser("workers")
    return p


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = Config.from_env()
    client = redis.Redis.from_url(config.redis_url, decode_responses=True, socket_connect_timeout=5)
    store = CrawlStore(client, config.prefix)
    try:
        return _run(args, store, client, config)
    except redis.exceptions.ConnectionError as exc:
        print(f"error: cannot reach Redis at {config.redis_url.split('@')[-1]}: {exc}", file=sys.stderr)
        return 3


def _run(args: argparse.Namespace, store: CrawlStore, client: redis.Redis, config: Config) -> int:
    if args.command == "enqueue":
        options = CrawlOptions(
            max_pages=args.max_pages,
            max_depth=args.max_depth,
            respect_robots=not args.no_robots,
            check_external=not args.no_external,
            notify=args.notify,
            site_concurrency=args.site_concurrency,
            site_rate=args.site_rate,
        )
        try:
            created = store.create(args.url, options)
        except (InvalidURL, InvalidOption) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(created.id, flush=True)
        if args.wait:
            current = store.require(created.id)
            while current.state in ("queued", "running"):
                time.sleep(0.5)
                current = store.require(created.id)
            _print(current.to_dict())
        return 0
    if args.command == "list":
        for crawl in store.list(0, args.limit):
            print(json.dumps(crawl.to_dict()))
        return 0
    if args.command == "workers":
        _print(list_workers(client, config.prefix))
        return 0
    found = store.get(args.id)
    if found is None:
        print(f"error: no crawl {args.id}", file=sys.stderr)
        return 1
    crawl = found
    if args.command == "status":
        _print(crawl.to_dict())
    elif args.command == "report":
        outcomes = tuple(o.strip() for o in args.include.split(",") if o.strip())
        _print([
            {"url": r.url, "status": r.status, "error": r.error,
             "referrers": [{"page": ref.page, "text": ref.text} for ref in r.referrers]}
            if outcomes == ("dead",) else r.to_report()
            for r in store.problems(crawl.id, outcomes)
        ])
    elif args.command == "cancel":
        if not store.cancel(crawl.id):
            print(f"crawl {crawl.id} already {crawl.state}", file=sys.stderr)
            return 1
    elif args.command == "delete":
        store.delete(crawl.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())

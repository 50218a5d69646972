"""The operator's command line: a thin layer over the store, for people and scripts.

    linkpatrol enqueue URL [--max-pages N] [--max-depth N] [--max-duration T] [--no-robots] [--no-external]
                           [--notify EMAIL ...] [--site-concurrency N] [--site-rate R]
                           [--exclude REGEX ...] [--same-site HOST ...] [--subdomains]
                           [--accept SPEC ...] [--header "Name: value" ...] [--head-first]
                           [--max-page-size MB] [--wait]
    linkpatrol status ID          the crawl record as JSON
    linkpatrol report ID          the dead links as JSON (--include for other outcomes)
    linkpatrol list [--origin check|other]  recent crawls, one JSON object a line
    linkpatrol cancel ID
    linkpatrol delete ID
    linkpatrol crawlers           live crawler processes (also: workers, the old name)
    linkpatrol start-queue dead   start messages no crawl came from, and why (one JSON object a line)
    linkpatrol schedule add URL --every 6h | --cron EXPR [crawl flags]; schedule list, show, pause,
                                  resume, delete, run ID (``linkpatrol.cli.schedules``)
    linkpatrol check URL|DIR      one crawl for CI: starts what it needs, reports, exits 0/1/2/3
                                  (``linkpatrol.cli.check``; the same per-crawl flags as enqueue)

Also ``python -m linkpatrol ...`` (and ``python -m crawler ...``, the old spelling). Redis and the key
prefix come from the environment (``linkpatrol.config``). Exit codes: 0 done, 1 no such crawl or
nothing to do, 2 bad input, 3 Redis not reachable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from linkpatrol.cli.context import EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_OK, EXIT_REDIS, Context, error, print_json
from linkpatrol.cli.crawl_flags import (
    add_crawl_options,
    bad_input,
    options_from_args,
    outcomes,
    positive,
    seconds,
)
from linkpatrol.cli.schedules import add_parser as add_schedule_commands
from linkpatrol.config import Config
from linkpatrol.model.options import InvalidOption, Place
from linkpatrol.model.records import Origin
from linkpatrol.model.urls import InvalidURL
from linkpatrol.model.verdicts import PROBLEM_OUTCOMES, Outcome
from linkpatrol.reports.results import to_report
from linkpatrol.store.connection import REDIS_DOWN, RedisError, client, refused, refused_message, unavailable
from linkpatrol.store.crawls import ORIGIN_FILTERS, CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from linkpatrol.store.start_queue import dead_letters

WAIT_POLL = 0.5  # seconds between two looks at a crawl --wait is waiting for


CHECK_EPILOG = """\
exit codes:
  0  nothing failed
  1  links failed: a result whose outcome --fail-on names (default: dead)
  2  bad input (the message names the option)
  3  the run could not complete: the site cannot be reached at all (its start page: connection
     refused, unknown host, no answer in time, or 401/403/429), Redis unreachable, the crawlers
     died, --timeout passed, the start page was not fetched, or it was interrupted (Ctrl-C, SIGTERM)

Without REDIS_URL, check starts a private Redis and --crawlers crawler processes (one per CPU) in a
temporary folder and stops them when it ends, whatever happens. With REDIS_URL it runs the crawl on
the shared crawlers and waits (local crawlers only with --crawlers). A folder is served on
127.0.0.1 and crawled; --site-url https://example.org/docs/ makes links to that address links into
the folder, and the reports show production URLs.

Options can live in ./linkpatrol.toml (or [tool.linkpatrol] of ./pyproject.toml): the long flags
without "--" as keys (max-pages = 500, exclude = ["/drafts/"], fail-on = ["dead"], format = "junit");
flags given on the command line win.

examples:
  linkpatrol check https://example.org/ --exclude '/calendar/'
  linkpatrol check public/ --site-url https://example.org/docs/ --format junit --output links.xml
  linkpatrol check site/ --format markdown --output "$GITHUB_STEP_SUMMARY" --fail-on dead,blocked
"""


def _add_check(sub: Any) -> None:
    from linkpatrol.cli.check.formats import FORMATS
    from linkpatrol.cli.check.progress import PROGRESS_MODES
    from linkpatrol.cli.check.reports import GROUPINGS

    c = sub.add_parser("check", help="crawl a site or a folder of built HTML once, report, exit 0/1/2/3 (for CI)",
                       description="Crawl a site or a folder of built HTML once, print a report and exit with "
                                   "a code a CI job can act on.",
                       epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("target", metavar="URL|DIR", help="the site's address, or a folder of built HTML")
    files = c.add_mutually_exclusive_group()
    files.add_argument("--config", metavar="FILE", help="read the options from FILE (default: ./linkpatrol.toml, "
                       "else [tool.linkpatrol] in ./pyproject.toml); flags win over it")
    files.add_argument("--no-config", action="store_true", help="read no config file")
    add_crawl_options(c, Place.CHECK)
    g = c.add_argument_group("the check")
    g.add_argument("--site-url", metavar="URL",
                   help="the production address of what is checked (the folder's root): links to it are "
                        "checked in the copy, and reports show it")
    g.add_argument("--fail-on", type=outcomes, default=(Outcome.DEAD,), metavar="OUTCOMES",
                   help=f"comma-separated outcomes that fail the run ({', '.join(PROBLEM_OUTCOMES)}); default: dead")
    g.add_argument("--format", choices=FORMATS, default="text", help="the report's format (default: text)")
    g.add_argument("--group-by", choices=GROUPINGS, default=GROUPINGS[0],
                   help="list problems by the page that holds them, with their lines (default), or by target "
                        "URL with the pages that link to it")
    g.add_argument("--output", metavar="FILE", help="write the report to FILE; the summary still goes to stdout")
    g.add_argument("--progress", choices=PROGRESS_MODES, default="auto",
                   help="on stderr: a bar on a terminal, a line every few seconds otherwise (default: auto)")
    g.add_argument("--crawlers", type=positive, metavar="N",
                   help="local crawler processes (default: one per CPU; none when REDIS_URL is set)")
    g.add_argument("--timeout", type=seconds, metavar="TIME", help="give up (exit code 3) after TIME: seconds, "
                   "or 90s, 5m, 1h")
    g.add_argument("--allow-private", action="store_true",
                   help="local crawlers may check loopback and private addresses (always so for a folder)")
    c.set_defaults(handler=_check)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="linkpatrol", description="linkpatrol crawl control")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    e = sub.add_parser("enqueue", help="start a crawl; prints its id")
    e.add_argument("url")
    add_crawl_options(e)
    e.add_argument("--wait", action="store_true", help="wait until the crawl ends, then print its record")
    e.set_defaults(handler=_enqueue)
    _add_check(sub)
    for name, handler, text in (("status", _status, "the crawl record as JSON"),
                                ("cancel", _cancel, "stop a queued or running crawl"),
                                ("delete", _delete, "remove a crawl and everything it found")):
        one = sub.add_parser(name, help=text)
        one.add_argument("id")
        one.set_defaults(handler=handler)
    r = sub.add_parser("report", help="dead links as JSON")
    r.add_argument("id")
    r.add_argument(
        "--include",
        type=outcomes,
        default=(Outcome.DEAD,),
        metavar="OUTCOMES",
        help=f"comma-separated outcomes to list ({', '.join(PROBLEM_OUTCOMES)}); default: dead",
    )
    r.set_defaults(handler=_report)
    lst = sub.add_parser("list", help="recent crawls, newest first, one JSON object a line")
    lst.add_argument("--limit", type=positive, default=20)
    lst.add_argument("--origin", choices=ORIGIN_FILTERS, help="only the crawls of linkpatrol check, or only "
                     "the others (default: every crawl)")
    lst.set_defaults(handler=_list)
    sub.add_parser("crawlers", aliases=["workers"], help="live crawler processes").set_defaults(handler=_crawlers)
    start_queue = sub.add_parser("start-queue", help="the start queue crawlers read (links:start_urls)")
    dead = start_queue.add_subparsers(dest="what", required=True, metavar="WHAT").add_parser(
        "dead", help="start messages no crawl came from, newest first, one JSON object a line: why and when")
    dead.add_argument("--limit", type=positive, default=20)
    dead.set_defaults(handler=_dead_starts)

    add_schedule_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.command == "check":
        from linkpatrol.cli.check.config import ConfigError, apply

        try:
            args.config_file = apply(args, argv, build_parser)
        except ConfigError as exc:
            error(str(exc))
            return EXIT_BAD_INPUT
    config = Config.from_env()
    keys = Keys.from_config(config)
    redis_client = client(config.redis_url)
    ctx = Context(config, keys, redis_client, CrawlStore(redis_client, keys, config.keep_crawls))
    handler: Callable[[argparse.Namespace, Context], int] = args.handler
    try:
        return handler(args, ctx)
    except BrokenPipeError:  # `linkpatrol list | head`: the reader left, which is no Redis failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (RedisError, OSError) as exc:
        if refused(exc):  # NOAUTH, WRONGPASS, NOPERM: no wait helps; REDIS_URL or the ACL must change
            error(refused_message(exc, config.redis_location))
        elif isinstance(exc, REDIS_DOWN):
            error(f"cannot reach Redis at {config.redis_location}: {exc}")
        elif unavailable(exc):  # BUSY, LOADING, READONLY...: the same exit code, a message that says "later"
            error(f"Redis at {config.redis_location} cannot serve now ({exc}); try again later")
        else:
            error(f"Redis at {config.redis_location} answered: {exc}")
        return EXIT_REDIS
    finally:
        redis_client.close()


def _enqueue(args: argparse.Namespace, ctx: Context) -> int:
    try:
        options = options_from_args(args)
        created = ctx.store.create(args.url, options, Origin.CLI)
    except (InvalidOption, InvalidURL) as exc:
        return bad_input(exc)
    print(created.id, flush=True)
    if args.wait:
        current = ctx.store.require(created.id)
        while current.is_active:
            time.sleep(WAIT_POLL)
            current = ctx.store.require(created.id)
        print_json(current.to_dict())
    return EXIT_OK


def _check(args: argparse.Namespace, ctx: Context) -> int:
    from linkpatrol.cli.check import CheckRequest, process_started, run

    started_at = process_started()
    try:
        options = options_from_args(args)
    except InvalidOption as exc:
        return bad_input(exc)
    return run(CheckRequest(
        target=args.target, options=options, fail_on=args.fail_on, fmt=args.format, output=args.output,
        progress=args.progress, crawlers=args.crawlers, timeout=args.timeout, allow_private=args.allow_private,
        site_url=args.site_url, group_by=args.group_by, started_at=started_at,
        config=str(args.config_file.name) if args.config_file else None,
    ))


def _list(args: argparse.Namespace, ctx: Context) -> int:
    for crawl in ctx.store.list(0, args.limit, ORIGIN_FILTERS.get(args.origin)):
        print(json.dumps(crawl.to_dict()))
    return EXIT_OK


def _crawlers(args: argparse.Namespace, ctx: Context) -> int:
    print_json(list_crawlers(ctx.client, ctx.keys))
    return EXIT_OK


def _dead_starts(args: argparse.Namespace, ctx: Context) -> int:
    total, letters = dead_letters(ctx.client, ctx.keys, args.limit)
    for letter in letters:
        print(json.dumps(letter.to_dict(), ensure_ascii=False))
    if total > len(letters):
        print(f"({total - len(letters)} older ones not shown: --limit)", file=sys.stderr)
    return EXIT_OK


def _status(args: argparse.Namespace, ctx: Context) -> int:
    crawl = ctx.store.get(args.id)
    if crawl is None:
        return _no_crawl(args.id)
    print_json(crawl.to_dict())
    return EXIT_OK


def _report(args: argparse.Namespace, ctx: Context) -> int:
    crawl = ctx.store.get(args.id)
    if crawl is None:
        return _no_crawl(args.id)
    outcomes: tuple[Outcome, ...] = args.include
    # The one report shape (the API's): the fields of the first version's short shape are all in it.
    print_json([to_report(res) for res in ctx.store.problems(crawl.id, outcomes)])
    return EXIT_OK


def _cancel(args: argparse.Namespace, ctx: Context) -> int:
    crawl = ctx.store.get(args.id)
    if crawl is None:
        return _no_crawl(args.id)
    if not ctx.store.cancel(crawl.id):
        print(f"crawl {crawl.id} already {crawl.state}", file=sys.stderr)
        return EXIT_NOT_FOUND
    return EXIT_OK


def _delete(args: argparse.Namespace, ctx: Context) -> int:
    crawl = ctx.store.get(args.id)
    if crawl is None:
        return _no_crawl(args.id)
    ctx.store.delete(crawl.id)
    return EXIT_OK


def _no_crawl(crawl_id: str) -> int:
    error(f"no crawl {crawl_id}")
    return EXIT_NOT_FOUND

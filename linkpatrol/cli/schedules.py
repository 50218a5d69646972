"""``linkpatrol schedule ...``: the command line's schedules (``linkpatrol.watch.schedules``), a thin layer as
the rest of ``linkpatrol.cli.main``, whose crawl flags, messages and exit codes it shares.

    linkpatrol schedule add URL (--every 6h | --cron "0 3 * * 1") [--paused] [crawl flags of enqueue]
    linkpatrol schedule list [--url URL]     one JSON object a line
    linkpatrol schedule show ID | pause ID | resume ID | delete ID
    linkpatrol schedule run ID               a crawl now; prints its id (exit 1 while the last one runs)
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from linkpatrol.cli.context import EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_OK, Context, error, print_json
from linkpatrol.cli.crawl_flags import add_crawl_options, bad_input, options_from_args
from linkpatrol.model.options import InvalidOption
from linkpatrol.model.urls import InvalidURL, normalize_url
from linkpatrol.watch.schedules import PreviousCrawlRunning, ScheduleNotFound, ScheduleRequest, Schedules, parse_when

EPILOG = """\
examples:
  linkpatrol schedule add https://example.org/ --every 1d --notify ops@example.org --notify-when changes
  linkpatrol schedule add https://example.org/ --cron "0 3 * * 1" --exclude '/calendar/'
  linkpatrol schedule list
  linkpatrol schedule pause 3f2a9c0d1e4b5a69

--every takes a number and a unit (s, m, h, d, w); --cron five fields in UTC. Runs must be at least
LINKPATROL_MIN_SCHEDULE_INTERVAL seconds apart (default 300). The schedules run where the RQ worker
(python -m web.processes.worker) and the cron process (python -m web.processes.cron) run: make run starts both.
"""


def add_parser(sub: Any) -> None:
    s = sub.add_parser("schedule", help="re-check a site every N minutes, hours or days, or on a cron expression",
                       description="Schedules: re-checks of a site.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    ss = s.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    add = ss.add_parser("add", help="schedule re-checks of a site; prints the schedule as JSON")
    add.add_argument("url")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", metavar="INTERVAL", help="30m, 6h, 1d, 1w")
    when.add_argument("--cron", metavar="EXPR", help='five fields, UTC: "0 3 * * 1"')
    add.add_argument("--paused", action="store_true", help="create it paused")
    add_crawl_options(add)  # the flags of enqueue
    add.set_defaults(handler=_add)
    lst = ss.add_parser("list", help="every schedule, newest first, one JSON object a line")
    lst.add_argument("--url", help="only the schedules of this site")
    lst.set_defaults(handler=_list)
    for name, handler, text in (("show", _show, "the schedule as JSON"),
                                ("pause", _pause, "no more runs until resumed"),
                                ("resume", _resume, "runs again, from the next slot"),
                                ("delete", _delete, "remove the schedule (its crawls stay)"),
                                ("run", _run, "start a crawl now; prints its id")):
        one = ss.add_parser(name, help=text)
        one.add_argument("id")
        one.set_defaults(handler=handler)


def _schedules(ctx: Context) -> Schedules:
    return Schedules(ctx.store, ctx.config.min_schedule_interval)


def _add(args: argparse.Namespace, ctx: Context) -> int:
    try:
        options = options_from_args(args)
        every, cron = parse_when({"every": args.every, "cron": args.cron}, ctx.config.min_schedule_interval)
        url, _ = normalize_url(args.url)
        created = _schedules(ctx).create(ScheduleRequest(url, options, every, cron, args.paused))
    except (InvalidOption, InvalidURL) as exc:
        return bad_input(exc)
    print_json(created.to_dict())
    return EXIT_OK


def _list(args: argparse.Namespace, ctx: Context) -> int:
    sch = _schedules(ctx)
    found = sch.for_site(normalize_url(args.url)[0]) if args.url else sch.list(0, sch.count() or 1)
    for s in found:
        print(json.dumps(s.to_dict()))
    return EXIT_OK


def _show(args: argparse.Namespace, ctx: Context) -> int:
    s = _schedules(ctx).get(args.id)
    if s is None:
        return _none(args.id)
    print_json(s.to_dict())
    return EXIT_OK


def _pause(args: argparse.Namespace, ctx: Context) -> int:
    return _set_paused(args.id, ctx, True)


def _resume(args: argparse.Namespace, ctx: Context) -> int:
    return _set_paused(args.id, ctx, False)


def _set_paused(schedule_id: str, ctx: Context, paused: bool) -> int:
    try:
        print_json(_schedules(ctx).set_paused(schedule_id, paused).to_dict())
    except ScheduleNotFound:
        return _none(schedule_id)
    except InvalidOption as exc:  # resuming a stored cron that never fires
        error(f"not resumed: {exc.field}: {exc.message}")
        return EXIT_BAD_INPUT
    return EXIT_OK


def _delete(args: argparse.Namespace, ctx: Context) -> int:
    return EXIT_OK if _schedules(ctx).delete(args.id) else _none(args.id)


def _run(args: argparse.Namespace, ctx: Context) -> int:
    try:
        print(_schedules(ctx).run_now(args.id), flush=True)
    except ScheduleNotFound:
        return _none(args.id)
    except PreviousCrawlRunning as exc:
        error(f"not started: the schedule's previous crawl {exc.crawl_id} is still running")
        return EXIT_NOT_FOUND
    return EXIT_OK


def _none(schedule_id: str) -> int:
    error(f"no schedule {schedule_id[:64]}")
    return EXIT_NOT_FOUND

"""The per-crawl flags of ``enqueue``, ``schedule add`` and ``check``, derived from the option model
(``linkpatrol.model.options``), and the flag values' parsers."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from linkpatrol import durations
from linkpatrol.cli.context import EXIT_BAD_INPUT, error
from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.options import CrawlOptions, InvalidOption, Place, default, parse_options, specs
from linkpatrol.model.urls import InvalidURL
from linkpatrol.model.verdicts import PROBLEM_OUTCOMES, Outcome
from linkpatrol.watch.webhooks import refused as refused_webhooks


def whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive(text: str) -> int:
    value = whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def outcomes(text: str) -> tuple[Outcome, ...]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    choices = ", ".join(PROBLEM_OUTCOMES)
    if not names:
        raise argparse.ArgumentTypeError(f"name at least one outcome: {choices}")
    unknown = [name for name in names if name not in PROBLEM_OUTCOMES]
    if unknown:
        raise argparse.ArgumentTypeError(f"{unknown[0]!r} is not a problem outcome; choose from {choices}")
    return tuple(dict.fromkeys(Outcome(name) for name in names))


def add_crawl_options(p: argparse.ArgumentParser, place: Place = Place.CLI) -> None:
    """The per-crawl flags, one for each option ``place`` may set (``enqueue`` and ``schedule add``:
    Place.CLI, ``check``: Place.CHECK), derived from the option model (``linkpatrol.model.options``): a switch
    for a true-or-false option (``--no-NAME`` when it is on by default), a repeatable flag for a list,
    a value checked by the model otherwise."""
    for name, spec in specs().items():
        if place not in spec.places:
            continue
        value, text = default(name), spec.flag_help or spec.help
        if isinstance(value, bool):
            p.add_argument(flag_of(name), action="store_true", help=text)
        elif isinstance(value, list | dict):
            p.add_argument(flag_of(name), action="append", default=[], metavar=spec.metavar or None, help=text)
        elif spec.choices:
            p.add_argument(flag_of(name), choices=spec.values, metavar=spec.metavar or None, help=text)
        elif spec.flag_env:
            p.add_argument(flag_of(name), metavar=spec.metavar or None, help=text)
        else:
            p.add_argument(flag_of(name), type=_checked(name), metavar=spec.metavar or None, help=text)


def _checked(name: str) -> Callable[[str], Any]:
    """A flag's value checked by the model (argparse names the flag in its message); the parsed value,
    or the text itself for an option that takes a text too (``--max-duration 2h``)."""
    keep_text = specs()[name].cli_text

    def parse(text: str) -> Any:
        try:
            value = getattr(parse_options({name: text}), name)
        except InvalidOption as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
        return text if keep_text else value

    parse.__name__ = name
    return parse


def _dest(name: str) -> str:
    return flag_of(name)[2:].replace("-", "_")


def options_from_args(args: argparse.Namespace) -> CrawlOptions:
    """The options the flags of ``add_crawl_options`` give, webhook hosts judged by the address policy.
    Raises InvalidOption (``flag_of`` names it)."""
    data: dict[str, Any] = {}
    for name, spec in specs().items():
        if not spec.places & {Place.CLI, Place.CHECK} or not hasattr(args, _dest(name)):
            continue
        value = getattr(args, _dest(name))
        if isinstance(default(name), bool):
            value = not value if default(name) else value
        elif spec.flag_env:
            value = os.environ.get(value, "") if value else None
        if value != []:  # a repeatable flag not given: left out (--header's [] is no object of headers)
            data[name] = value
    options = parse_options(data)
    if reason := refused_webhooks(options.webhooks, AddressPolicy.from_env()):
        raise InvalidOption("webhooks", reason)
    return options


def flag_of(option: str) -> str:
    """The command-line flag of a crawl option (or of another field a message names: ``--cron``)."""
    spec = specs().get(option)
    if spec is not None and spec.flag:
        return spec.flag
    return ("--no-" if spec is not None and default(option) is True else "--") + option.replace("_", "-")


def seconds(text: str) -> int:
    """Seconds (``90``) or a duration (``90s``, ``5m``, ``2h``): ``durations.parse``."""
    try:
        return durations.parse(text)
    except durations.BadDuration as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def bad_input(exc: InvalidOption | InvalidURL) -> int:
    """A command's bad input, said in one line (an option by its flag: ``--max-pages: must be at least
    1``), and the exit code for it."""
    error(f"{flag_of(exc.field)}: {exc.message}" if isinstance(exc, InvalidOption) else str(exc))
    return EXIT_BAD_INPUT

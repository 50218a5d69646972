"""Durations: the one way they are read (``parse``: an option, a schedule's interval, an environment
variable, a command-line flag) and shown (``describe``: the pages, the mail, the command line,
check reports, error messages).

Written as seconds (``90``) or as numbers with units, largest first: ``90s``, ``45m``, ``2h``,
``1d``, ``1h 30m`` (``w``, weeks, where the caller allows it). Shown as at most two units, the second
one padded: ``2.5s``, ``45s``, ``12m 05s``, ``12m``, ``2h 03m``, ``3d 04h``; ``parse`` reads back what
``describe`` writes.
"""

from __future__ import annotations

import re
from typing import Any

UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
SHOWN = ("d", "h", "m", "s")  # weeks are read, never shown: "14d" says the same without a second unit
PART = re.compile(r"(\d{1,7})\s*([a-z])", re.I)
SECONDS = re.compile(r"\d{1,9}")


class BadDuration(ValueError):
    """A duration that cannot be read, or is out of the caller's bounds. The message is a predicate
    ("must be a duration: ...", "must be at least 5m"): the caller puts the name of the field, flag or
    variable in front of it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse(value: Any, *, minimum: int = 1, maximum: int | None = None, units: str = "smhd",
          unit_required: bool = False) -> int:
    """Whole seconds from ``value``: an int, or a text of seconds (``"90"``, unless ``unit_required``)
    or of numbers with ``units`` (``"90m"``, ``"1h 30m"``), within ``minimum`` and ``maximum``
    (seconds). Raises BadDuration."""
    seconds = _read(value, units, unit_required)
    if seconds is None:
        example = ", ".join(f"{n}{u}" for n, u in (("90", "s"), ("45", "m"), ("2", "h"), ("1", "d"), ("2", "w"))
                            if u in units)
        shape = "a number and a unit" if unit_required else "a duration: seconds, or a number and a unit"
        raise BadDuration(f"must be {shape} ({example})")
    if seconds < minimum:
        raise BadDuration(f"must be at least {describe(minimum)}")
    if maximum is not None and seconds > maximum:
        raise BadDuration(f"must be at most {describe(maximum)}")
    return seconds


def _read(value: Any, units: str, unit_required: bool) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if unit_required else value
    if not isinstance(value, str) or not value.isascii() or len(value) > 100:
        return None
    text = value.strip().lower()
    if SECONDS.fullmatch(text):
        return None if unit_required else int(text)
    parts = PART.findall(text)
    if not parts or PART.sub("", text).strip() or any(u not in units for _, u in parts):
        return None
    order = [list(UNITS).index(u) for _, u in parts]
    if order != sorted(set(order)):  # "30m 2h", "1h 1h": not a duration anyone means
        return None
    return sum(int(n) * UNITS[u] for n, u in parts)


def describe(seconds: float | None, most: int = 2) -> str:
    """How a duration is shown everywhere: at most ``most`` units from the largest, all but the first
    padded, zeros at the end left out: ``45s``, ``12m 05s``, ``12m``, ``2h 03m``, ``3d 04h``; tenths
    under 10 s (``2.5s``); ``-`` for None. A value that must read back exactly as it was set (a
    schedule's interval, a crawl's time limit) takes ``most=4``: ``1d 00h 00m 01s``."""
    if seconds is None:
        return "-"
    if seconds < 9.95 and seconds != int(seconds):
        return f"{max(seconds, 0):.1f}s"
    left = int(seconds)
    first = next((i for i, unit in enumerate(SHOWN) if left >= UNITS[unit]), len(SHOWN) - 1)
    amounts = []
    for unit in SHOWN[first:first + most]:
        n, left = divmod(left, UNITS[unit])
        amounts.append((n, unit))
    while len(amounts) > 1 and amounts[-1][0] == 0:
        amounts.pop()
    return " ".join(f"{n:02d}{unit}" if i else f"{n}{unit}" for i, (n, unit) in enumerate(amounts))

"""The environment, read through one set of typed readers: every process (crawler, web app, mail worker,
command line) reads its variables with these, each with its default, and a bad value raises one error,
``BadSetting``, whose message names the variable and the value.

An unset or blank variable is its default everywhere. Each reader takes the mapping to read
(``os.environ`` when None), so a test hands in a dict.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import TypeVar

from linkpatrol import durations

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
T = TypeVar("T", int, float)


class BadSetting(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def _raw(env: Mapping[str, str] | None, name: str) -> str:
    return ((os.environ if env is None else env).get(name) or "").strip()


def text(env: Mapping[str, str] | None, name: str, default: str = "") -> str:
    """The variable's text, stripped; ``default`` when unset or blank."""
    return _raw(env, name) or default


def whole(env: Mapping[str, str] | None, name: str, default: int, minimum: int = 0,
          maximum: int | None = None) -> int:
    """A whole number from ``minimum`` to ``maximum``."""
    return _number(env, name, default, int, "a whole number", minimum, maximum)


def number(env: Mapping[str, str] | None, name: str, default: float, minimum: float | None = None,
           maximum: float | None = None) -> float:
    """A number (``2.5``) from ``minimum`` to ``maximum``."""
    return _number(env, name, default, float, "a number", minimum, maximum)


def seconds(env: Mapping[str, str] | None, name: str, default: int, minimum: int = 0,
            maximum: int | None = None) -> int:
    """A duration: seconds, or ``90m``, ``12h``, ``1d`` (``linkpatrol.durations``)."""
    raw = _raw(env, name)
    if not raw:
        return default
    try:
        return durations.parse(raw, minimum=minimum, maximum=maximum)
    except durations.BadDuration as exc:
        raise BadSetting(f"{name} {exc.message}, got {raw!r}") from None


def flag(env: Mapping[str, str] | None, name: str, default: bool = False) -> bool:
    """``1``, ``true``, ``yes``, ``on`` or ``0``, ``false``, ``no``, ``off`` (any case)."""
    raw = _raw(env, name).lower()
    if not raw:
        return default
    if raw not in TRUE | FALSE:
        raise BadSetting(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")
    return raw in TRUE


def choice(env: Mapping[str, str] | None, name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (any case)."""
    raw = _raw(env, name).lower() or default
    if raw not in choices:
        raise BadSetting(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def per_window(env: Mapping[str, str] | None, name: str, default: tuple[int, float],
               example: str) -> tuple[int, float]:
    """A count per window of seconds, ``10/60`` (the window may be left out: ``10``, the default's);
    ``0`` switches a limit off. ``example`` shows the shape in the message."""
    raw = _raw(env, name)
    if not raw:
        return default
    count, _, window = raw.partition("/")
    try:
        pair = int(count), float(window) if window else default[1]
    except ValueError:
        pair = (-1, 0.0)
    if pair[0] < 0 or not (math.isfinite(pair[1]) and pair[1] > 0):
        raise BadSetting(f"{name} must look like {example} (a count, 0 or more, per a number of seconds), "
                         f"got {raw!r}")
    return pair


def _number(env: Mapping[str, str] | None, name: str, default: T, kind: Callable[[str], T], what: str,
            minimum: T | None, maximum: T | None) -> T:
    raw = _raw(env, name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BadSetting(f"{name} must be {what}, got {raw!r}") from None
    if not math.isfinite(value):
        raise BadSetting(f"{name} must be {what}, got {raw!r}")
    if minimum is not None and value < minimum:
        raise BadSetting(f"{name} must be at least {minimum}, got {raw!r}")
    if maximum is not None and value > maximum:
        raise BadSetting(f"{name} must be at most {maximum}, got {raw!r}")
    return value

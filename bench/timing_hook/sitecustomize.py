"""Loaded by every Python process that has this folder on its PYTHONPATH (``bench/profile.py --time``
puts it there for the crawlers it starts): wraps the callables ``LINKPATROL_TIME`` names
(``module:Qualified.name``, ``;``-separated) with a clock, and writes, when the process exits, the time
spent in each, its calls and the time per call to ``LINKPATROL_TIME_OUT/<pid>.json``. A call made from
inside another call of the same callable is counted once. Functions, methods, static and class methods;
not coroutine functions (calling one only makes the coroutine; its time would be its waits too), which
are refused with a message. Only for measuring: nothing else imports it."""

from __future__ import annotations

import atexit
import functools
import importlib
import inspect
import json
import os
import sys
import time
from typing import Any


def _wrap(target: str, totals: dict[str, list[float]]) -> None:
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    kind = type(original) if isinstance(original, (staticmethod, classmethod)) else None
    function = original.__func__ if kind else original
    if inspect.iscoroutinefunction(function):
        raise TypeError("a coroutine function: calling it makes a coroutine, and its run includes its waits")
    spent = totals.setdefault(target, [0.0, 0])
    depth = [0]

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if depth[0]:
            return function(*args, **kwargs)
        depth[0] += 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            depth[0] -= 1
            spent[0] += time.perf_counter() - started
            spent[1] += 1

    setattr(owner, name, kind(timed) if kind else timed)


def _install() -> None:
    targets = [t for t in os.environ.get("LINKPATROL_TIME", "").split(";") if t.strip()]
    out = os.environ.get("LINKPATROL_TIME_OUT")
    if not targets or not out:
        return
    totals: dict[str, list[float]] = {}
    for target in targets:
        try:
            _wrap(target.strip(), totals)
        except Exception as exc:  # a name that does not resolve is said, not fatal
            print(f"timing hook: cannot wrap {target}: {exc!r}", file=sys.stderr)

    def write() -> None:
        with open(os.path.join(out, f"{os.getpid()}.json"), "w") as f:
            json.dump(totals, f)

    atexit.register(write)


_install()

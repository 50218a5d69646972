"""Jinja filters: times, durations and counts as the pages show them."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from linkpatrol.summary import iso


def human_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h {m:02d}m"


def number(n: int | None) -> str:
    return f"{int(n or 0):,}"


def init_app(app: Flask) -> None:
    app.add_template_filter(human_time, "when")
    app.add_template_filter(human_duration, "duration")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(number, "num")

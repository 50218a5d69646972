"""Jinja filters: times, durations and counts as the pages show them."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from linkpatrol import durations
from linkpatrol.reports.summary import iso


def human_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(n: int | None) -> str:
    return f"{int(n or 0):,}"


# A form error that carries its own subject ("the URL needs a scheme") is shown as a sentence; one that
# is a predicate ("is required", "must be at least 1") gets the field's subject in front of it.
PREDICATES = ("is ", "are ", "must ", "has ", "have ", "cannot ", "needs ", "should ")


def field_error(message: str, subject: str) -> str:
    """``The URL needs a scheme, such as https://.``, ``Max pages must be at least 1.``: one sentence,
    never ``The address the URL needs...``. A subject ending with ":" always leads (``Exclude: ...``)."""
    message = message.strip().rstrip(".")
    if subject.endswith(":") or message.startswith(PREDICATES):
        return f"{subject} {message}."
    return f"{message[:1].upper()}{message[1:]}."


def init_app(app: Flask) -> None:
    app.add_template_filter(human_time, "when")
    app.add_template_filter(durations.describe, "duration")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(number, "num")
    app.add_template_filter(field_error, "field_error")

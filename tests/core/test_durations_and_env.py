"""One way to read and show a duration (``linkpatrol.durations``) and one way to read the environment
(``linkpatrol.env``): what an operator types and what every page, mail and command shows."""

from __future__ import annotations

import pytest

from linkpatrol import durations
from linkpatrol import env as read
from linkpatrol.config import Config
from linkpatrol.env import BadSetting


@pytest.mark.parametrize(("seconds", "shown"), [
    (2.5, "2.5s"), (45, "45s"), (60, "1m"), (725, "12m 05s"), (725.9, "12m 05s"), (3725, "1h 02m"),
    (7200, "2h"), (5400, "1h 30m"), (86400 + 4 * 3600, "1d 04h"), (None, "-"),
])
def test_a_duration_is_shown_one_way(seconds: float | None, shown: str) -> None:
    assert durations.describe(seconds) == shown


@pytest.mark.parametrize("seconds", [1, 59, 90, 725, 5400, 7200, 86401, 90061, 30 * 86400])
def test_what_is_shown_exactly_reads_back(seconds: int) -> None:
    assert durations.parse(durations.describe(seconds, most=4)) == seconds


def test_a_duration_is_read_one_way_with_the_callers_bounds() -> None:
    assert [durations.parse(v) for v in ("90", 90, "90s", "45m", " 2h ", "1d", "1h 30m", "12m 05s")] == \
        [90, 90, 90, 2700, 7200, 86400, 5400, 725]
    assert durations.parse("2w", units="smhdw", unit_required=True) == 14 * 86400
    for bad, says in (("2w", "must be a duration"), ("30m 2h", "must be a duration"), ("²h", "must be a duration"),
                      (True, "must be a duration"), ("-5", "must be a duration"), ("0", "must be at least 1s"),
                      ("31d", "must be at most 30d")):
        with pytest.raises(durations.BadDuration, match=says):
            durations.parse(bad, maximum=30 * 86400)
    with pytest.raises(durations.BadDuration, match="must be a number and a unit"):
        durations.parse("90", unit_required=True)


def test_every_variable_is_read_by_one_reader_that_names_it() -> None:
    env = {"N": " 7 ", "F": "2.5", "D": "90m", "B": "Yes", "C": "SSL", "W": "10/60", "Z": ""}
    assert (read.whole(env, "N", 1), read.number(env, "F", 1.0), read.seconds(env, "D", 1)) == (7, 2.5, 5400)
    assert (read.flag(env, "B"), read.choice(env, "C", "none", ("ssl", "none"))) == (True, "ssl")
    assert read.per_window(env, "W", (5, 900.0), "5/900") == (10, 60.0)
    assert (read.whole(env, "Z", 3), read.flag(env, "unset", True), read.text(env, "Z", "x")) == (3, True, "x")
    for reader, value, says in ((lambda e: read.whole(e, "V", 1, 1), "0", "V must be at least 1, got '0'"),
                                (lambda e: read.whole(e, "V", 1), "1.5", "V must be a whole number, got '1.5'"),
                                (lambda e: read.number(e, "V", 1.0), "nan", "V must be a number, got 'nan'"),
                                (lambda e: read.flag(e, "V"), "maybe", "V must be 1 or 0"),
                                (lambda e: read.seconds(e, "V", 1), "soon", "V must be a duration"),
                                (lambda e: read.per_window(e, "V", (1, 1.0), "5/9"), "5/0", "V must look like 5/9")):
        with pytest.raises(BadSetting, match=says):
            reader({"V": value})


def test_the_config_defaults_are_declared_once() -> None:
    assert Config.from_env({}) == Config()
    assert Config.from_env({"LINKPATROL_KEEP_CRAWLS": "0", "LINKPATROL_MAX_DURATION": "2h"}).max_duration == 7200
    with pytest.raises(BadSetting, match="LINKPATROL_MAX_DURATION must be at most 30d"):
        Config.from_env({"LINKPATROL_MAX_DURATION": "40d"})

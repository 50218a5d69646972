"""``exclude`` patterns run on RE2 (``linkpatrol.model.rules``): linear time whatever the pattern, what RE2
cannot run refused at the edge in words, Python's spellings kept meaning what they meant, and stored
patterns RE2 refuses left out of a running crawl with one log line."""

from __future__ import annotations

import re
import time

import pytest

from linkpatrol.model.options import CrawlOptions, InvalidOption
from linkpatrol.model.rules import MAX_PATTERN_PROGRAM, CrawlRules, compile_pattern
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import linkpatrol_cli

ENGINE = "which is not supported (patterns run on RE2, in linear time)"


def refusal(*patterns: str) -> str:
    with pytest.raises(InvalidOption) as caught:
        CrawlOptions(exclude=list(patterns)).validate()
    assert caught.value.field == "exclude"
    return str(caught.value)


def test_the_report_pattern_runs_in_linear_time() -> None:
    crawl = CrawlRules.from_options(CrawlOptions(exclude=["(a+)+$"]).validate(), "example.org")
    took = time.perf_counter()
    for n in (32, 1000, 2000):
        assert not crawl.excluded(f"https://example.org/{'a' * n}!")  # hours for Python's re at 32
    assert time.perf_counter() - took < 1.0  # about 30 microseconds here; room for a loaded machine
    assert crawl.excluded("https://example.org/aaaa")


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        ("(?=x)", "lookaround"),
        ("(?!/admin)", "lookaround"),
        ("(?<=/)private", "lookaround"),
        ("(?<!www)\\.example", "lookaround"),
        ("(a)\\1", "a backreference \\1"),
        ("(?P<p>/x)(?P=p)", "a backreference (?P=name)"),
        ("/a++b", "a possessive quantifier ++"),
        ("/a{2}+b", "a possessive quantifier {2}+"),
        ("(?>ab|a)c", "an atomic group (?>...)"),
        ("(a)?(?(1)b|c)", "a conditional (?(...)...)"),
        ("(?x) /calendar/", "verbose mode (?x)"),
        ("(?a)\\w+", "the inline flag (?a) (RE2 knows i, m, s and U)"),
        ("/x(?#why)", "a comment (?#...)"),
        ("\\u00fc", "the escape \\u (write the character itself, or \\x{263a})"),
        ("\\G/x", "the escape \\G"),
    ],
)
def test_what_only_backtracking_runs_is_refused_by_name(pattern: str, construct: str) -> None:
    assert refusal("/calendar/", pattern) == f"exclude: '{pattern}' uses {construct}, {ENGINE}"


def test_the_example_message_word_for_word() -> None:
    assert refusal("(?=x)") == ("exclude: '(?=x)' uses lookaround, which is not supported (patterns run on "
                                "RE2, in linear time)")


def test_counts_and_size_are_capped() -> None:
    assert refusal("/a{1001}") == f"exclude: '/a{{1001}}' repeats something more than 1000 times ({{1001}}), {ENGINE}"
    assert "({100}, times the counts it is inside)" in refusal("(/a{100}){100}")
    # 500 characters can describe a program of megabytes: RE2's memory budget refuses it first...
    assert "is too large once compiled (over RE2's 1 MiB a pattern)" in refusal("[\\p{L}\\p{N}]{1000}")
    # ...and the sizes of all patterns together are capped, so that the time a URL costs is too.
    big = [".{300}", "[^/]{300}", ".{300}x"]
    sizes = [compile_pattern(p).programsize for p in big]
    assert sum(sizes[:2]) <= MAX_PATTERN_PROGRAM < sum(sizes)
    assert refusal(*big).startswith(f"exclude: with '.{{300}}x' the patterns compile to {sum(sizes):,} RE2 "
                                    f"instructions together, at most {MAX_PATTERN_PROGRAM:,}")
    CrawlOptions(exclude=big[:2]).validate()


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(unclosed", "is not a regular expression (missing ): (unclosed)"),
        ("/a**", "is not a regular expression (bad repetition operator: **)"),
        ("[z-a]", "is not a regular expression (invalid character class range: z-a)"),
    ],
)
def test_what_is_no_regular_expression_says_so(pattern: str, why: str) -> None:
    assert refusal(pattern) == f"exclude: '{pattern}' {why}"


def test_a_lone_surrogate_is_no_text() -> None:  # JSON can carry one: "\ud800"
    assert refusal("/x\ud800") == "exclude: '/x\\ud800' holds a character that is not valid Unicode text"


URLS = ["https://example.org/", "https://example.org/b", "https://example.org/ab", "https://example.org/aab",
        "https://example.org/aaab", "https://example.org/Calendar/2024/", "https://example.org/x?sort=1&a=2",
        "https://example.org/a%20b", "https://cdn.example.net/logo.png", "https://example.org/{,2}"]


@pytest.mark.parametrize(
    "pattern",
    ["/a{,2}b$", "a{,}b", "/a{1,2}b\\Z", "png\\Z", "(?i)/calendar/\\d{4}/", "[?&]sort=\\d+", "\\{,2\\}$",
     "[{,2}]$", "^https://(?:www\\.)?example\\.org/$", "/(?P<word>[a-z]+)$", "%20", "\\bsort\\b", "[^/]{3}$",
     "(?s:.)b$", "(?m)^https"],
)
def test_a_pattern_both_engines_take_means_the_same(pattern: str) -> None:
    """Python's ``\\Z`` and ``{,n}`` are spelled for RE2 (``\\z``, ``{0,n}``); the rest agrees as it is."""
    found = compile_pattern(pattern)
    python = re.compile(pattern)
    for url in URLS:
        assert bool(found.search(url)) == bool(python.search(url)), url


def test_stored_patterns_re2_refuses_are_left_out_with_one_line(caplog: pytest.LogCaptureFixture) -> None:
    # Checked with Python's re before patterns ran on RE2: the crawl goes on with the patterns it can run.
    stored = CrawlOptions.from_json('{"exclude": ["(?!keep)/tmp/", "/calendar/", "(?=lookahead)"]}')
    caplog.set_level("WARNING", logger="linkpatrol.model.rules")
    crawl = CrawlRules.from_options(stored, "stored.example.org")
    assert crawl.excluded("https://stored.example.org/calendar/") and not crawl.excluded("https://x.org/tmp/")
    assert CrawlRules.from_options(stored, "stored.example.org") is crawl  # compiled (and logged) once
    assert [r.getMessage() for r in caplog.records] == [
        f"exclude pattern ignored: '(?!keep)/tmp/' uses lookaround, {ENGINE}",
        f"exclude pattern ignored: '(?=lookahead)' uses lookaround, {ENGINE}",
    ]


def test_stored_patterns_past_the_size_cap_are_left_out(caplog: pytest.LogCaptureFixture) -> None:
    stored = CrawlOptions.from_json('{"exclude": [".{300}", "/calendar/", "[^/]{300}", ".{299}x"]}')
    caplog.set_level("WARNING", logger="linkpatrol.model.rules")
    crawl = CrawlRules.from_options(stored, "capped.example.org")
    assert [p.pattern for p in crawl.exclude] == [".{300}", "/calendar/", "[^/]{300}"]
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("exclude pattern ignored: with '.{299}x' the patterns compile to")


def test_the_command_line_refuses_with_exit_2(redis_url: str, store: CrawlStore) -> None:
    out = linkpatrol_cli(redis_url, "enqueue", "https://example.org/", "--exclude", "(a)\\1")
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == f"error: --exclude: '(a)\\1' uses a backreference \\1, {ENGINE}"
    assert store.count() == 0

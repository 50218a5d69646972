"""Small pieces with many cases: url hygiene, verdicts, crawl options and the wire format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from linkpatrol.model.option_values import MAX_LIMIT, MAX_NOTIFY
from linkpatrol.model.options import CrawlOptions, InvalidOption, parse_options
from linkpatrol.model.start_messages import BadStartMessage, StartMessage
from linkpatrol.model.urls import InvalidURL, host_of, normalize_url
from linkpatrol.model.verdicts import (
    OTHER_OUTCOMES,
    PROBLEM_OUTCOMES,
    ErrorKind,
    Outcome,
    describe,
    outcome_for_status,
    status_class,
)
from linkpatrol.model.wire import FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer, anchor_hash


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM", ("http://example.com/", "")),
        ("https://a.example:443/x?q=1#frag", ("https://a.example/x?q=1", "frag")),
        ("http://a.example:8080/p", ("http://a.example:8080/p", "")),
        ("http://ex.example/ü space", ("http://ex.example/%C3%BC%20space", "")),
    ],
)
def test_normalize_url(raw: str, expected: tuple[str, str]) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("example.org", "needs a scheme"),
        ("ftp://example.org/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http://[bad", "malformed"),
        ("http://a:99999/", "malformed"),
        ("http:///path", "no host"),
        ("http://a.example/" + "x" * 3000, "longer than"),
    ],
)
def test_normalize_url_rejects_with_a_clear_message(raw: str, message: str) -> None:
    with pytest.raises(InvalidURL, match=message):
        normalize_url(raw)


def test_scope_is_host_and_port() -> None:
    assert host_of("http://A.example/x") == host_of("https://a.example/y") == "a.example"
    assert host_of("http://a.example:8080/") == "a.example:8080"
    assert host_of("http://[bad/") == ""


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome"),
    [(200, False, "ok"), (204, False, "ok"), (404, False, "dead"), (410, False, "dead"), (500, False, "dead"),
     (401, False, "blocked"), (403, False, "blocked"), (999, False, "blocked"), (429, False, "rate_limited"),
     (503, True, "rate_limited"), (503, False, "dead"), (300, False, "dead")],
)
def test_outcomes(status: int, retry_after: bool, outcome: str) -> None:
    assert outcome_for_status(status, retry_after) == outcome


def test_status_classes() -> None:
    assert [status_class(s) for s in (None, 200, 301, 404, 503)] == ["error", "2xx", "3xx", "4xx", "5xx"]


def test_options_validation_names_the_field() -> None:
    with pytest.raises(InvalidOption) as err:
        CrawlOptions(max_pages=0).validate()
    assert err.value.field == "max_pages"
    with pytest.raises(InvalidOption) as err:
        CrawlOptions(max_depth=-1).validate()
    assert err.value.field == "max_depth"


def test_outcome_for_status_is_an_outcome() -> None:
    assert outcome_for_status(404) is Outcome.DEAD
    assert outcome_for_status(200) == "ok"  # the strings stored in Redis since the first version


# -- verdicts -----------------------------------------------------------------------------------------
def test_every_outcome_has_words_for_people() -> None:
    for outcome in Outcome:
        assert outcome.label and outcome.meaning, outcome
    assert len({o.label for o in Outcome}) == len(Outcome)


def test_outcome_groups() -> None:
    assert set(OTHER_OUTCOMES) == set(Outcome) - {Outcome.OK, Outcome.DEAD, Outcome.MISSING_ANCHOR}
    assert [o for o in Outcome if o.is_other] == list(OTHER_OUTCOMES)
    assert set(PROBLEM_OUTCOMES) == set(Outcome) - {Outcome.OK}
    assert not Outcome.OK.is_problem and Outcome.DEAD.is_problem and not Outcome.DEAD.is_other


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_error_kinds_have_a_message_and_an_outcome(kind: ErrorKind) -> None:
    assert kind.message
    expected = {
        ErrorKind.ROBOTS: Outcome.EXCLUDED,
        ErrorKind.ADDRESS_NOT_ALLOWED: Outcome.EXCLUDED,
        ErrorKind.EXCLUDED_BY_RULE: Outcome.EXCLUDED,
        ErrorKind.UNSUPPORTED_SCHEME: Outcome.UNSUPPORTED,
        ErrorKind.TOO_LARGE: Outcome.WARNING,
        ErrorKind.NOT_RENDERED: Outcome.WARNING,  # read as sent: its links are checked, the browser was missing
        ErrorKind.MISSING_ANCHOR: Outcome.MISSING_ANCHOR,
    }.get(kind, Outcome.DEAD)
    assert kind.outcome is expected


def test_describe() -> None:
    assert describe(404, None, "dead") == "HTTP 404"
    assert describe(None, ErrorKind.DNS, "dead") == "dns"
    assert describe(None, None, "excluded") == "excluded"


# -- crawl options --------------------------------------------------------------------------------------
def test_parse_options_from_json() -> None:
    options = parse_options({"max_pages": 5, "max_depth": "2", "respect_robots": False, "notify": ["a@b.example"],
                             "site_concurrency": 3, "site_rate": "2.5"})
    assert options == CrawlOptions(max_pages=5, max_depth=2, respect_robots=False, check_external=True,
                                   notify=["a@b.example"], site_concurrency=3, site_rate=2.5)
    assert parse_options({}) == CrawlOptions()


def test_parse_options_from_a_form() -> None:
    # An unchecked checkbox is absent from a form: false. Addresses come in one text field.
    options = parse_options({"max_pages": "", "notify": "a@b.example, c@d.example;a@b.example", "check_external": "on",
                             "csrf_token": "x"}, form=True)
    assert options.respect_robots is False and options.check_external is True
    assert options.notify == ["a@b.example", "c@d.example"]
    assert options.max_pages is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"colour": "red"}, "colour", "is not a crawl option"),
        ({"max_pages": 0}, "max_pages", "at least 1"),
        ({"max_pages": -1}, "max_pages", "0 or more"),
        ({"max_pages": "ten"}, "max_pages", "0 or more"),
        ({"max_pages": True}, "max_pages", "whole number"),
        ({"max_depth": MAX_LIMIT + 1}, "max_depth", "at most"),
        ({"respect_robots": "maybe"}, "respect_robots", "true or false"),
        ({"notify": "a@b.example"}, "notify", "list of email addresses"),
        ({"notify": ["not an address"]}, "notify", "is not an email address"),
        ({"notify": [f"u{i}@b.example" for i in range(MAX_NOTIFY + 1)]}, "notify", f"at most {MAX_NOTIFY}"),
        ({"site_concurrency": 0}, "site_concurrency", "from 1 to"),
        ({"site_rate": 0}, "site_rate", "above 0"),
        ({"site_rate": "fast"}, "site_rate", "requests per second"),
    ],
)
def test_parse_options_names_the_field(data: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidOption, match=message) as err:
        parse_options(data)
    assert err.value.field == field


# -- the wire format ------------------------------------------------------------------------------------
def test_link_result_round_trip() -> None:
    res = LinkResult("http://a.example/x", Outcome.DEAD, status=404, final_url="http://a.example/y",
                     redirects=[["http://a.example/x", 301]], content_type="text/html", external=True)
    back = LinkResult.from_json(res.url, res.to_json())
    assert back == res
    assert back.verdict is Outcome.DEAD and back.status_class == "4xx" and back.description == "HTTP 404"
    failed = LinkResult("http://b.example/", ErrorKind.DNS.outcome, error=ErrorKind.DNS)
    assert LinkResult.from_json(failed.url, failed.to_json()) == failed


def test_link_result_leaves_empty_fields_out() -> None:
    assert json.loads(LinkResult("http://a.example/", Outcome.OK, status=200).to_json()) == {"o": "ok", "s": 200}
    assert LinkResult("http://a.example/", Outcome.OK).to_json() == '{"o":"ok"}'
    # Referrers live in their own list, never in the stored result.
    with_refs = LinkResult("http://a.example/", Outcome.DEAD, status=404, referrers=[Referrer("p", "t", "a", "")],
                           referrer_count=1)
    assert json.loads(with_refs.to_json()) == {"o": "dead", "s": 404}


def test_referrer_round_trip() -> None:
    ref = Referrer("http://a.example/", "Read ü", "a", "top")
    assert Referrer.decode(ref.encode()) == ref
    assert json.loads(ref.encode()) == ["http://a.example/", "Read ü", "a", "top"]


@pytest.mark.parametrize("kind", list(MessageKind))
def test_frontier_message_round_trip(kind: MessageKind) -> None:
    msg = FrontierMessage("http://a.example/ü?q=1", kind, 3)
    assert FrontierMessage.decode(msg.encode()) == msg
    assert json.loads(msg.encode()) == {"u": "http://a.example/ü?q=1", "k": str(kind), "d": 3}
    assert FrontierMessage.decode('{"u":"http://a.example/","k":"page"}').depth == 0


def test_found_link_args() -> None:
    ref = Referrer("http://a.example/", "Next", "a", "")
    page = FoundLink("http://a.example/2", FrontierMessage("http://a.example/2", MessageKind.PAGE, 2), ref)
    target, message, over_budget, referrer, anchor = page.args()
    assert anchor == ""
    assert target == "http://a.example/2"
    assert FrontierMessage.decode(message) == page.message
    assert FrontierMessage.decode(over_budget) == FrontierMessage("http://a.example/2", MessageKind.CHECK, 2)
    assert Referrer.decode(referrer) == ref
    check = FoundLink("http://b.example/i.png", FrontierMessage("http://b.example/i.png", MessageKind.CHECK, 2))
    assert check.args()[2:] == ("", "", "")
    fragment = FoundLink("http://a.example/3", FrontierMessage("http://a.example/3", MessageKind.PAGE, 2), ref,
                         "install")
    assert fragment.args()[4] == f"{anchor_hash('install')}\tinstall"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://Example.ORG/a#top", StartMessage(url="http://example.org/a")),
        (b"  https://example.org/\n", StartMessage(url="https://example.org/")),
        ('{"crawl_id": "0123abcd"}', StartMessage(crawl_id="0123abcd")),
        ('{"url": "http://example.org", "max_pages": 5}',
         StartMessage(url="http://example.org/", options=CrawlOptions(max_pages=5))),
        ('{"url": "http://example.org/", "notify": ["a@b.example"], "check_external": false}',
         StartMessage(url="http://example.org/", options=CrawlOptions(notify=["a@b.example"], check_external=False))),
    ],
)
def test_start_message_decode(raw: str | bytes, expected: StartMessage) -> None:
    assert StartMessage.decode(raw) == expected


@pytest.mark.parametrize(
    "message",
    [StartMessage(crawl_id="c0ffee"), StartMessage(url="http://example.org/", options=CrawlOptions(max_depth=2)),
     StartMessage(url="http://example.org/")],
)
def test_start_message_round_trip(message: StartMessage) -> None:
    assert StartMessage.decode(message.encode()) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("not json {", "url: the URL needs a scheme"),
        ("{not json", "not JSON"),
        ("[1, 2]", "must be an object"),
        ('{"url": 3}', '"url" string'),
        ("{}", '"url" string'),
        ('{"crawl_id": ""}', '"crawl_id" must be a string'),
        ('{"crawl_id": 7}', '"crawl_id" must be a string'),
        ('{"crawl_id": "' + "x" * 65 + '"}', "1 to 64 characters"),
        ('{"url": "ftp://x"}', "url: only http and https"),
        ("ftp://x", "url: only http and https"),
        ('{"url": "http://a/", "max_pages": -1}', "max_pages: must be a whole number"),
        ('{"url": "http://a/", "colour": "red"}', "colour: is not a crawl option"),
    ],
)
def test_start_message_decode_rejects_with_a_clear_message(raw: str, message: str) -> None:
    with pytest.raises(BadStartMessage, match=message) as err:
        StartMessage.decode(raw)
    assert "\n" not in str(err.value)

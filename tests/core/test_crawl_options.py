"""The per-crawl rules and options (exclude, same_site, subdomains, accept, headers, head_first,
max_page_size): one validation for the API, the form, the command line and a start message; request
headers kept out of the record and written with it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from linkpatrol.model.option_values import (
    MAX_ACCEPT,
    MAX_HEADER_VALUE,
    MAX_HEADERS,
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    MAX_SAME_SITE,
)
from linkpatrol.model.options import CrawlOptions, InvalidOption, parse_options
from linkpatrol.model.records import Crawl
from linkpatrol.model.start_messages import BadStartMessage, StartMessage
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.start_messages import handle_start_message

SECRET = "Bearer s3cret-t0ken-value"
RULES = {"exclude": ["/calendar/", r"[?&]sort="], "same_site": ["Docs.Example.org", "cdn.example.net:8443"],
         "subdomains": True, "accept": [403, "500-599@Legacy.Example.org"],
         "headers": {"Authorization": SECRET, "X-Staging": "yes"}, "head_first": True, "max_page_size": 8}
PARSED = CrawlOptions(exclude=["/calendar/", r"[?&]sort="], same_site=["docs.example.org", "cdn.example.net:8443"],
                      subdomains=True, accept=["403", "500-599@legacy.example.org"],
                      headers={"Authorization": SECRET, "X-Staging": "yes"}, head_first=True, max_page_size=8)


def test_parse_rules_from_json() -> None:
    options = parse_options(RULES)
    assert options == PARSED
    assert options.header_names == ["Authorization", "X-Staging"]
    defaults = parse_options({})
    assert (defaults.exclude, defaults.same_site, defaults.subdomains, defaults.accept, defaults.headers,
            defaults.head_first, defaults.max_page_size) == ([], [], False, [], {}, False, None)


def test_parse_rules_from_a_form() -> None:
    form = {"exclude": "/calendar/\r\n\r\n[?&]sort=\r\n", "same_site": "Docs.Example.org, cdn.example.net:8443",
            "subdomains": "1", "accept": "403\n500-599@Legacy.Example.org",
            "headers": f"Authorization: {SECRET}\r\nX-Staging:yes\r\n", "head_first": "on", "max_page_size": "8",
            "sitemaps": "on", "respect_robots": "1", "check_external": "1", "csrf_token": "x"}
    assert parse_options(form, form=True) == PARSED
    # Unchecked boxes are absent; empty text fields are no rules.
    empty = parse_options({"exclude": "", "same_site": "", "accept": "", "headers": "", "max_page_size": ""}, form=True)
    assert empty.subdomains is False and empty.head_first is False and empty.exclude == [] and empty.headers == {}


def test_parse_rules_from_command_line_lists() -> None:
    # linkpatrol enqueue passes its repeated flags as lists, --header as "Name: value" strings.
    options = parse_options({**RULES, "accept": ["403", "500-599@legacy.example.org"], "max_page_size": "8",
                             "headers": [f"Authorization: {SECRET}", "X-Staging: yes"]})
    assert options == PARSED


def test_entries_are_trimmed_and_deduplicated() -> None:
    options = parse_options({"exclude": [" /a/ ", "/a/", ""], "same_site": ["docs.example.org", "DOCS.example.org"],
                             "accept": ["403", " 403 ", 403]})
    assert options.exclude == ["/a/"] and options.same_site == ["docs.example.org"] and options.accept == ["403"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"exclude": "/a/"}, "exclude", "list of regular expressions"),
        ({"exclude": ["(unclosed"]}, "exclude", "not a regular expression"),
        ({"exclude": [f"/{i}/" for i in range(MAX_PATTERNS + 1)]}, "exclude", f"at most {MAX_PATTERNS}"),
        ({"exclude": ["x" * (MAX_PATTERN_LENGTH + 1)]}, "exclude", f"longer than {MAX_PATTERN_LENGTH}"),
        ({"same_site": "docs.example.org"}, "same_site", "list of host names"),
        ({"same_site": ["https://docs.example.org/"]}, "same_site", "not a host name"),
        ({"same_site": [f"h{i}.example" for i in range(MAX_SAME_SITE + 1)]}, "same_site", f"at most {MAX_SAME_SITE}"),
        ({"subdomains": "perhaps"}, "subdomains", "true or false"),
        ({"accept": "403"}, "accept", "list of status codes"),
        ({"accept": [True]}, "accept", "list of status codes"),
        ({"accept": ["40x"]}, "accept", "not a status code"),
        ({"accept": ["99"]}, "accept", "from 100 to 999"),
        ({"accept": ["1000"]}, "accept", "from 100 to 999"),
        ({"accept": ["599-500"]}, "accept", "lower code to the higher"),
        ({"accept": ["403@not a host"]}, "accept", "after @"),
        ({"accept": [str(100 + i) for i in range(MAX_ACCEPT + 1)]}, "accept", f"at most {MAX_ACCEPT}"),
        ({"headers": "Authorization: x"}, "headers", "object of header names"),
        ({"headers": {"Authorization": 7}}, "headers", "must be a string"),
        ({"headers": ["no colon here"]}, "headers", 'line 1 is not "Name: value"'),
        ({"headers": {"Bad Name": "v"}}, "headers", "no valid name"),
        ({"headers": {"": "v"}}, "headers", "no valid name"),
        ({"headers": {"Host": "v"}}, "headers", "set by the HTTP client"),
        ({"headers": {"content-length": "1"}}, "headers", "set by the HTTP client"),
        ({"headers": {"Transfer-Encoding": "chunked"}}, "headers", "set by the HTTP client"),
        ({"headers": {"Connection": "close"}}, "headers", "set by the HTTP client"),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "headers", "given twice"),
        ({"headers": {"X-A": "a\r\nInjected: 1"}}, "headers", "line break"),
        ({"headers": {"X-A": "a\nb"}}, "headers", "line break"),
        ({"headers": {"X-A": "a\x00b"}}, "headers", "printable ASCII"),
        ({"headers": {"X-A": "é"}}, "headers", "printable ASCII"),
        ({"headers": {"X-A": "  "}}, "headers", "needs a value"),
        ({"headers": {"X-A": "v" * (MAX_HEADER_VALUE + 1)}}, "headers", f"longer than {MAX_HEADER_VALUE}"),
        ({"headers": {f"X-{i}": "v" for i in range(MAX_HEADERS + 1)}}, "headers", f"at most {MAX_HEADERS}"),
        ({"head_first": "sometimes"}, "head_first", "true or false"),
        ({"max_page_size": 0}, "max_page_size", "from 1 to 1024"),
        ({"max_page_size": 1025}, "max_page_size", "from 1 to 1024"),
        ({"max_page_size": "big"}, "max_page_size", "whole number"),
        ({"max_page_size": 2.5}, "max_page_size", "whole number"),
        ({"header_names": ["X"]}, "header_names", "is not a crawl option"),
    ],
)
def test_each_rule_names_its_field(data: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidOption, match=message) as err:
        parse_options(data)
    assert err.value.field == field


def test_limits_are_inclusive() -> None:
    options = parse_options({"exclude": ["x" * MAX_PATTERN_LENGTH] + [f"/{i}/" for i in range(MAX_PATTERNS - 1)],
                             "headers": {f"X-{i}": "v" * MAX_HEADER_VALUE for i in range(MAX_HEADERS)},
                             "accept": [str(100 + i) for i in range(MAX_ACCEPT)], "max_page_size": 1024})
    assert len(options.exclude) == MAX_PATTERNS and len(options.headers) == MAX_HEADERS
    assert parse_options({"max_page_size": 1}).max_page_size == 1


def test_header_errors_never_repeat_a_value() -> None:
    for headers in ({"X-A": f"{SECRET}\r\nX: y"}, {"X-A": SECRET + "é"}, {"X-A": SECRET * 200},
                    [f"{SECRET}"], {"Host": SECRET}, {f"{SECRET} name": "v"}):
        with pytest.raises(InvalidOption) as err:
            parse_options({"headers": headers})
        assert "s3cret" not in str(err.value), err.value
        with pytest.raises(BadStartMessage) as bad:
            StartMessage.decode(json.dumps({"url": "http://example.org/", "headers": headers}))
        assert "s3cret" not in str(bad.value)


def test_stored_and_shown_options_name_headers_only() -> None:
    options = parse_options(RULES)
    for shown in (options.to_json(), json.dumps(options.to_dict()), repr(options),
                  json.dumps(Crawl.from_record({"id": "c", "url": "http://e/", "host": "e", "state": "queued",
                                                "created_at": "1", "options": options.to_json()}).to_dict())):
        assert "s3cret" not in shown and "Authorization" in shown
    assert options.to_dict()["header_names"] == ["Authorization", "X-Staging"] and "headers" not in options.to_dict()
    loaded = CrawlOptions.from_json(options.to_json())
    assert loaded.headers == {} and loaded.header_names == ["Authorization", "X-Staging"]
    assert loaded.exclude == options.exclude and loaded.accept == options.accept and loaded.max_page_size == 8
    # A record written before these options existed reads with their defaults.
    old = CrawlOptions.from_json('{"max_pages": 5, "respect_robots": false}')
    assert old.max_pages == 5 and old.exclude == [] and old.head_first is False and old.header_names == []
    # Values in a stored record (there never are) are not read back as headers.
    assert CrawlOptions.from_json('{"headers": {"X": "y"}}').headers == {}


def test_with_headers() -> None:
    loaded = CrawlOptions.from_json(parse_options(RULES).to_json())
    again = loaded.with_headers({"Authorization": SECRET})
    assert again.headers == {"Authorization": SECRET} and again.header_names == ["Authorization"]
    assert again.exclude == loaded.exclude and loaded.headers == {}


def test_start_messages_take_the_rules() -> None:
    msg = StartMessage.decode(json.dumps({"url": "http://example.org/", **RULES}))
    assert msg.options == PARSED
    assert StartMessage.decode(msg.encode()) == msg
    with pytest.raises(BadStartMessage, match="accept: "):
        StartMessage.decode('{"url": "http://example.org/", "accept": ["40x"]}')


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ('{"url": "http://a/", "headers": {"Authorization": "Bearer s3cret"}, "max_pages": -1}',
         '{"url":"http://a/","headers":{"Authorization":"***"},"max_pages":-1}'),
        ('{"url": "http://a/", "headers": ["Authorization: Bearer s3cret"]}', '{"url":"http://a/","headers":"***"}'),
        ('{"url": "http://a/", "headers": {"Authorization": "Bearer s3cret"',
         "(malformed JSON naming headers, not shown)"),
        ('{"url": "http://a/", "max_pages": -1}', '{"url": "http://a/", "max_pages": -1}'),
        ("{not json", "{not json"),
        ("http://example.org/", "http://example.org/"),
    ],
)
def test_start_message_loggable_masks_header_values(raw: str, shown: str) -> None:
    assert StartMessage.loggable(raw) == shown
    assert StartMessage.loggable(raw.encode()) == shown


# -- storage --------------------------------------------------------------------------------------------
def test_create_keeps_header_values_in_their_own_key(store: CrawlStore, rclient: redis.Redis) -> None:
    crawl = store.create("https://staging.example.org/", parse_options(RULES))
    assert crawl.options.header_names == ["Authorization", "X-Staging"] and crawl.options.headers == {}
    assert store.crawl_headers(crawl.id) == {"Authorization": SECRET, "X-Staging": "yes"}
    assert Keys().crawl_headers(crawl.id) == f"lp:crawl:{crawl.id}:headers"
    holding = [key for key in rclient.scan_iter() if SECRET in json.dumps(_value(rclient, key))]
    assert holding == [Keys().crawl_headers(crawl.id)]
    stored = store.require(crawl.id).options
    assert stored.exclude == PARSED.exclude and stored.same_site == PARSED.same_site and stored.subdomains
    assert stored.accept == PARSED.accept and stored.head_first and stored.max_page_size == 8
    # Without headers there is no headers key.
    plain = store.create("https://example.org/")
    assert store.crawl_headers(plain.id) == {} and not rclient.exists(Keys().crawl_headers(plain.id))


def test_record_and_headers_are_written_in_one_transaction(store: CrawlStore, rclient: redis.Redis) -> None:
    with rclient.monitor() as monitor:
        store.create("https://staging.example.org/", parse_options({"headers": {"Cookie": "session=abc"}}))
        commands = []
        for event in monitor.listen():
            commands.append(event["command"].split()[0].upper())
            if commands[-1] == "EXEC":
                break
    first = commands.index("MULTI")
    assert commands[first:] == ["MULTI", "HSET", "HSET", "ZADD", "ZADD", "ZADD", "RPUSH", "EXEC"]  # + the site


def test_delete_removes_the_headers(store: CrawlStore, rclient: redis.Redis) -> None:
    crawl = store.create("https://staging.example.org/", parse_options(RULES))
    assert rclient.exists(Keys().crawl_headers(crawl.id))
    assert store.delete(crawl.id)
    assert not list(rclient.scan_iter(match=f"lp:crawl:{crawl.id}*"))
    assert store.crawl_headers(crawl.id) == {}


def test_a_start_message_with_headers_writes_them_with_the_record(redis_url: str, store: CrawlStore,
                                                                   rclient: redis.Redis) -> None:
    keys = Keys()
    crawl_id = handle_start_message(redis_url, json.dumps({"url": "https://staging.example.org/", **RULES}))
    assert crawl_id is not None
    assert store.crawl_headers(crawl_id) == {"Authorization": SECRET, "X-Staging": "yes"}
    crawl = store.require(crawl_id)
    assert crawl.options.header_names == ["Authorization", "X-Staging"] and crawl.options.exclude == PARSED.exclude
    assert SECRET not in json.dumps(rclient.hgetall(keys.crawl(crawl_id)))
    assert not rclient.lrange(keys.start_claimed("w1"), 0, -1)  # the message, secrets and all, is gone


def _value(client: redis.Redis, key: str) -> Any:
    kind = client.type(key)
    if kind == "hash":
        return client.hgetall(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "zset":
        return client.zrange(key, 0, -1)
    return client.get(key)

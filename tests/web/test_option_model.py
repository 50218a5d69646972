"""The option model (``linkpatrol.model.options``) is the one declaration of the crawl options: every option
it holds is found in the API's schema, the command line's --help, the forms that may set it and
docs/API.md, and the generated parts of openapi.json and docs/API.md are current."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from linkpatrol.model.options import Place, specs
from web.openapi import API_DOC, OPENAPI, api_doc, document


def _help(*command: str) -> str:
    return subprocess.run([sys.executable, "-m", "linkpatrol", *command, "--help"], capture_output=True,
                          text=True, check=True, env={"COLUMNS": "200", "PATH": ""}).stdout


def test_every_option_is_found_everywhere_it_may_be_set(client: FlaskClient, store: object) -> None:
    from linkpatrol.cli.crawl_flags import flag_of

    spec: dict[str, Any] = client.get("/api/openapi.json").json or {}
    schemas = spec["components"]["schemas"]
    enqueue, check, doc = _help("enqueue"), _help("check"), API_DOC.read_text()
    home = client.get("/").get_data(as_text=True)
    assert specs(), "no option declared"
    for name, option in specs().items():
        for body in ("CreateCrawl", "CreateSchedule"):
            assert schemas[body]["properties"][name]["description"] == option.help, (body, name)
        assert f"| `{name}` |" in doc, name
        if Place.CLI in option.places:
            assert flag_of(name) in enqueue, name
        if Place.CHECK in option.places:
            assert flag_of(name) in check, name
        if Place.FORM in option.places:
            assert f'name="{name}"' in home, name
        else:
            assert f'name="{name}"' not in home, name


def test_the_schedule_form_shows_its_options(client: FlaskClient, store: object) -> None:
    from linkpatrol.model.options import CrawlOptions
    from linkpatrol.watch.schedules import ScheduleRequest, Schedules

    Schedules(store, 60).create(ScheduleRequest("https://example.org/", CrawlOptions(), every=3600, cron=None))  # type: ignore[arg-type]
    page = client.get("/sites?url=https://example.org/").get_data(as_text=True)
    for name, option in specs().items():
        assert (f'name="{name}"' in page) == (Place.SCHEDULE in option.places), name


def test_the_generated_parts_are_current() -> None:
    current = json.loads(OPENAPI.read_text())
    assert document(current) == current, "run python -m web.openapi"
    assert api_doc(API_DOC.read_text()) == API_DOC.read_text(), "run python -m web.openapi"


def test_the_openapi_document_is_valid_and_describes_every_route(client: FlaskClient, app: Flask) -> None:
    spec: dict[str, Any] = client.get("/api/openapi.json").json or {}
    validate(spec)
    routes = {r.rule.replace("<crawl_id>", "{id}").replace("<schedule_id>", "{id}")
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert routes == set(spec["paths"])


def test_pydantic_is_imported_at_the_first_validation_only() -> None:
    """A crawler reads options (``from_json``, the specs) and never validates them: it never pays
    pydantic's import (44 ms of each crawler's start, on ``linkpatrol check``'s critical path); nor does
    a check given no option flag (its options are the defaults). The first validation imports it, and
    judges as ever."""
    probe = ("import sys\n"
             "import crawler.run, crawler.spiders.links\n"
             "from linkpatrol.model import options\n"
             "read = options.CrawlOptions.from_json('{\"max_pages\": 5}')\n"
             "print(read.max_pages, len(options.OPTION_FIELDS), 'pydantic' in sys.modules)\n"
             "from linkpatrol.cli.crawl_flags import options_from_args\n"
             "from linkpatrol.cli.main import build_parser\n"
             "from linkpatrol.store.crawls import NewCrawl\n"
             "bare = options_from_args(build_parser().parse_args(['check', 'https://example.org/']))\n"
             "NewCrawl.of('https://example.org/', bare)\n"
             "print(bare == options.CrawlOptions(), 'pydantic' in sys.modules)\n"
             "try:\n"
             "    options.parse_options({'max_pages': 0})\n"
             "except options.InvalidOption as exc:\n"
             "    print(exc, 'pydantic' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"5 {len(specs())} False", "True False", "max_pages: must be at least 1 True"]


def test_options_left_out_are_the_defaults_without_pydantic() -> None:
    """What leaving every option out gives is taken as the defaults without asking pydantic (so a check
    with no option flags never imports it); each such input is what pydantic makes of it, and anything
    else (0 for a switch, a value, an unknown name) is still pydantic's to judge."""
    from linkpatrol.model import options

    declared = options.CrawlOptions()
    for name in options.OPTION_FIELDS:
        default = options.default(name)
        for value in (None, default):
            assert options.parse_options({name: value}) == declared
            assert options._adapter().validate_python({name: value}, context={"form": False}) == declared, name
    assert options.parse_options({}) == declared
    with pytest.raises(options.InvalidOption, match="must be true or false"):
        options.parse_options({"subdomains": 0})
    with pytest.raises(options.InvalidOption, match="must be an object"):
        options.parse_options({"remap": []})
    with pytest.raises(options.InvalidOption, match="is not a crawl option"):
        options.parse_options({"bogus": None})
    assert options.parse_options({"max_pages": 5}).max_pages == 5

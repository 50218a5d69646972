"""The option model (``linkpatrol.model.options``) is the one declaration of the crawl options: every option
it holds is found in the API's schema, the command line's --help, the forms that may set it and
docs/API.md, and the generated parts of openapi.json and docs/API.md are current."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

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
    pydantic's import (44 ms of each crawler's start, on ``linkpatrol check``'s critical path). The first
    validation imports it, and judges as ever."""
    probe = ("import sys\n"
             "import crawler.run, crawler.spiders.links\n"
             "from linkpatrol.model import options\n"
             "read = options.CrawlOptions.from_json('{\"max_pages\": 5}')\n"
             "print(read.max_pages, len(options.OPTION_FIELDS), 'pydantic' in sys.modules)\n"
             "try:\n"
             "    options.parse_options({'max_pages': 0})\n"
             "except options.InvalidOption as exc:\n"
             "    print(exc, 'pydantic' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"5 {len(specs())} False", "max_pages: must be at least 1 True"]

"""The parts of web/static/openapi.json and docs/API.md that come from the option model
(``linkpatrol.model.options``): the crawl options' JSON Schema in the request bodies (``CreateCrawl``,
``CreateSchedule``), the options as a crawl shows them (``Options``) and the option table of
docs/API.md. Written by ``python -m web.openapi``; the output is committed, and
tests/web/test_option_model.py fails when it is not current."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from linkpatrol.model.options import OPTION_FIELDS, default, json_schema, shown_json_schema, specs

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "web" / "static" / "openapi.json"
API_DOC = ROOT / "docs" / "API.md"
BODIES = ("CreateCrawl", "CreateSchedule")  # request bodies that take the crawl options
TABLE = re.compile(r"(<!-- options: begin .*?-->\n)(.*?)(<!-- options: end -->)", re.S)


def document(current: dict[str, Any]) -> dict[str, Any]:
    """``current`` with the options of each request body and the shown options (``Options``, inside a
    crawl) taken from the model (the bodies' other fields kept)."""
    doc = json.loads(json.dumps(current))
    shown = shown_json_schema()
    doc["components"]["schemas"]["Options"] = {k: v for k, v in shown.items() if k != "title"}
    options = json_schema()["properties"]
    for name in BODIES:
        props = doc["components"]["schemas"][name]["properties"]
        others = {k: v for k, v in props.items() if k not in OPTION_FIELDS}
        url = {"url": others.pop("url")} if "url" in others else {}
        doc["components"]["schemas"][name]["properties"] = {**url, **options, **others}
    return doc


def _type(schema: dict[str, Any]) -> str:
    kinds = [s.get("type", "") for s in schema.get("anyOf", [schema])]
    words = {"integer": "integer", "number": "number", "string": "string", "boolean": "boolean",
             "array": "array of strings", "object": "object", "null": "null"}
    return " or ".join(words.get(k, k) for k in kinds)


def option_table() -> str:
    """The rows of docs/API.md's option table, one per option, from the model."""
    props = json_schema()["properties"]
    rows = []
    for name, spec in specs().items():
        value = default(name)
        shown = "absent: the crawlers' default" if value is None else json.dumps(value)
        places = ", ".join(sorted(str(p) for p in spec.places))
        rows.append(f"| `{name}` | {_type(props[name])} | {shown} | {spec.help} (set in: {places}) |")
    return "\n".join(rows) + "\n"


def api_doc(text: str) -> str:
    """docs/API.md's text with the option table generated."""
    return TABLE.sub(lambda m: m.group(1) + option_table() + m.group(3), text)


def main() -> None:
    OPENAPI.write_text(json.dumps(document(json.loads(OPENAPI.read_text())), indent=1, ensure_ascii=False) + "\n")
    API_DOC.write_text(api_doc(API_DOC.read_text()))


if __name__ == "__main__":
    main()

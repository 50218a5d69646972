"""The OpenAPI document is a contract, not a description: every answer of every API route (against a real
Redis, a crawl recorded through the frontier's own scripts) validates against the schema the document
gives for that route and status, and every request body used here validates against the documented
body. A field the code adds, drops or retypes without the document saying so fails here."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator

from linkpatrol.store.crawls import CrawlStore
from tests.support.webapp import SITE, finished_crawl


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    return dict(client.get("/api/openapi.json").json or {})


def validator(spec: dict[str, Any], schema: dict[str, Any], *, closed: bool = False) -> OAS31Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in the document.
    ``closed``: an object may hold only the properties its schema names (unless it says otherwise), so
    an answer with a field the document does not know fails."""
    root = {**schema, "components": spec["components"]}
    return OAS31Validator(_closed(root) if closed else root)


def _closed(node: Any) -> Any:
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _closed(value) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def answer(spec: dict[str, Any], client: FlaskClient, method: str, route: str, path: str, *,
           body: dict[str, Any] | None = None, bad_body: bool = False) -> Any:
    """Call the API; check the body sent (unless it is meant to be refused) and the answer received
    against the document."""
    operation = spec["paths"][route][method]
    if body is not None and not bad_body:
        sent = operation["requestBody"]["content"]["application/json"]["schema"]
        validator(spec, sent).validate(body)
    resp = client.open(path, method=method.upper(), json=body)
    documented = operation["responses"].get(str(resp.status_code))
    assert documented is not None, f"{method.upper()} {path} answered {resp.status_code}, not documented"
    content = documented.get("content", {}).get("application/json")
    if content is not None:
        try:
            validator(spec, content["schema"], closed=True).validate(resp.json)
        except ValidationError as exc:
            pytest.fail(f"{method.upper()} {path} ({resp.status_code}): {exc.message} at "
                        f"{'/'.join(map(str, exc.absolute_path))}", pytrace=False)
    return resp.json


def test_every_answer_matches_its_documented_schema(client: FlaskClient, store: CrawlStore,
                                                     spec: dict[str, Any]) -> None:
    first = finished_crawl(store)
    crawl = finished_crawl(store, every_outcome=True)  # the second of the site: a diff with a previous crawl
    answer(spec, client, "get", "/api/crawls", "/api/crawls")
    answer(spec, client, "get", "/api/crawls/{id}", f"/api/crawls/{crawl.id}")
    answer(spec, client, "get", "/api/crawls/{id}", "/api/crawls/0123456789abcdef")  # a 404's error shape
    for outcome in ("", "?outcome=all", "?outcome=missing_anchor,warning"):
        answer(spec, client, "get", "/api/crawls/{id}/broken", f"/api/crawls/{crawl.id}/broken{outcome}")
    answer(spec, client, "get", "/api/crawls/{id}/broken", f"/api/crawls/{crawl.id}/broken?outcome=ok")  # a 400
    answer(spec, client, "get", "/api/crawls/{id}/diff", f"/api/crawls/{crawl.id}/diff")
    answer(spec, client, "get", "/api/crawls/{id}/diff", f"/api/crawls/{first.id}/diff")  # no previous crawl
    answer(spec, client, "get", "/api/crawls/{id}/orphans", f"/api/crawls/{crawl.id}/orphans")

    accepted = answer(spec, client, "put", "/api/sites/accepted", "/api/sites/accepted",
                      body={"site": f"{SITE}/", "url": f"{SITE}/missing", "note": "moved for good"})
    assert accepted["url"] == f"{SITE}/missing"
    answer(spec, client, "get", "/api/sites/accepted", f"/api/sites/accepted?site={SITE}/")

    created = answer(spec, client, "post", "/api/crawls", "/api/crawls",
                     body={"url": "https://example.org/", "max_pages": 10, "render": "auto", "exclude": ["/private"]})
    refused = answer(spec, client, "post", "/api/crawls", "/api/crawls",
                     body={"url": "https://example.org/", "max_pages": 0}, bad_body=True)
    assert refused["field"] == "max_pages"
    answer(spec, client, "delete", "/api/crawls/{id}", f"/api/crawls/{created['id']}")

    schedule = answer(spec, client, "post", "/api/schedules", "/api/schedules",
                      body={"url": "https://example.org/", "every": "6h", "max_pages": 50})
    answer(spec, client, "get", "/api/schedules", "/api/schedules")
    answer(spec, client, "get", "/api/schedules/{id}", f"/api/schedules/{schedule['id']}")
    answer(spec, client, "patch", "/api/schedules/{id}", f"/api/schedules/{schedule['id']}", body={"paused": True})
    answer(spec, client, "post", "/api/schedules/{id}/run", f"/api/schedules/{schedule['id']}/run")


def test_the_contract_catches_a_field_the_document_does_not_know(client: FlaskClient, store: CrawlStore,
                                                                 spec: dict[str, Any]) -> None:
    """The check above can fail: a real crawl's answer with one field more, or one retyped, is refused."""
    crawl = dict(client.get(f"/api/crawls/{finished_crawl(store).id}").json or {})
    check = validator(spec, {"$ref": "#/components/schemas/Crawl"}, closed=True)
    check.validate(crawl)
    with pytest.raises(ValidationError, match="surprise"):
        check.validate({**crawl, "surprise": 1})
    with pytest.raises(ValidationError):
        check.validate({**crawl, "dead": "five"})

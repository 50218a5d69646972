"""The crawl options, each declared once: its type, bounds, default, help text and where it may be set
(``Spec``: the JSON API, the web forms, the command line, ``linkpatrol check``, a start message, a
schedule). Everything else is derived from ``CrawlOptions`` by walking its fields (``specs``): the one
validation of every way of starting a crawl (``parse_options``, pydantic under it, errors as
``InvalidOption(field, message)``), the command line's flags (``linkpatrol.cli.crawl_flags.add_crawl_options``), the
forms' fields (``form_fields``, drawn by the ``option_fields`` macro of web/templates/_macros.html), the
JSON Schema of the OpenAPI document (``json_schema``) and the option table of docs/API.md
(``python -m linkpatrol.model.options``; a test keeps it current).

"No limit": an option left out (or ``null``, or an empty form field) takes the crawlers' default
(LINKPATROL_MAX_PAGES, _MAX_DEPTH, _MAX_DURATION), which SEED writes into the record when the crawl
starts; a limit is a number within its bounds. ``0`` is no value of ``max_pages`` or ``max_duration``
(refused, "must be at least 1"); ``max_depth`` 0 means the start page only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, get_type_hints

if TYPE_CHECKING:  # pydantic itself is imported where options are validated (``_pydantic``)
    from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, ValidationInfo
    from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
    from pydantic_core import CoreSchema

from linkpatrol import env
from linkpatrol.model import option_values as values
from linkpatrol.model.option_values import (
    MAX_ACCEPT,
    MAX_DURATION,
    MAX_HEADERS,
    MAX_LIMIT,
    MAX_NOTIFY,
    MAX_PAGE_SIZE,
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    MAX_REMAP,
    MAX_SAME_SITE,
    MAX_SITE_CONCURRENCY,
    MAX_SITE_RATE,
    MAX_WEBHOOK_SECRET,
    MAX_WEBHOOKS,
    REMAP_SHAPE,
    InvalidOption,
)
from linkpatrol.model.rules import AcceptRule, compile_patterns, remap_prefix, site_host


class Place(StrEnum):
    """Where an option may be set."""

    API = "api"  # POST /api/crawls (and a schedule's JSON: POST /api/schedules)
    FORM = "form"  # the home page's form
    SCHEDULE = "schedule"  # the site page's schedule form
    CLI = "cli"  # linkpatrol enqueue and linkpatrol schedule add
    CHECK = "check"  # linkpatrol check
    START = "start"  # a JSON start message pushed to the start queue


EVERYWHERE = frozenset(Place)
NO_FORM = EVERYWHERE - {Place.FORM, Place.SCHEDULE}
NOT_CHECK = EVERYWHERE - {Place.CHECK}  # notifications: a check run reports itself


@dataclass(frozen=True)
class Spec:
    """How one option shows outside the model: its help text (the API schema, ``--help``, docs/API.md),
    where it may be set, its command-line flag and its form field. Annotated onto the field's type."""

    help: str
    label: str = ""  # the form's label; "" when no form shows it
    hint: str = ""  # the form's hint beside the label
    places: frozenset[Place] = EVERYWHERE
    flag: str = ""  # the flag, when not the name with dashes (--no-NAME for a switch that is on by default)
    metavar: str = ""
    flag_help: str = ""  # --help's text when it is not ``help`` (a switch that turns the option off)
    flag_env: bool = False  # the flag names an environment variable holding the value (a secret)
    advanced: bool = False  # in the form's "Advanced" section
    widget: str = "text"  # the form's control: text, number, textarea, password, select, checkbox
    attrs: str = ""  # more HTML attributes of the control
    wide: bool = False
    error_prefix: str = ""  # how the form's error message names the field (default: the label)
    choices: tuple[tuple[str, str], ...] = ()  # (value, the form's words for it)
    message: str = ""  # the error when a value is out of bounds (default: "must be at least/at most ...")
    secret: bool = False  # never put back into a page
    cli_text: bool = False  # a text too (a duration: "2h"), which the flag keeps for parse_options

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def __get_pydantic_json_schema__(self, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        schema = handler.resolve_ref_schema(schema)
        schema["description"] = self.help
        if self.choices:
            schema["enum"] = list(self.values)
        return schema


def _is_form(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("form"))


def _v_whole(value: Any, info: ValidationInfo) -> int | None:
    return values.whole(str(info.field_name), value)


def _v_duration(value: Any, info: ValidationInfo) -> int | None:
    return values.parse_duration(str(info.field_name), value)


def _v_rate(value: Any, info: ValidationInfo) -> float | None:
    return values.rate(str(info.field_name), value)


def _v_flag(value: Any, info: ValidationInfo) -> bool:
    name = str(info.field_name)
    return values.flag(name, value, bool(_defaults()[name]))


def _v_emails(value: Any, info: ValidationInfo) -> list[str]:
    return values.emails(value, _is_form(info))


def _v_list(what: str, *, lines_only: bool = False) -> Callable[[Any, ValidationInfo], list[str]]:
    def parse(value: Any, info: ValidationInfo) -> list[str]:
        return values.entries(str(info.field_name), value, _is_form(info), what, lines_only=lines_only)
    return parse


def _v_headers(value: Any, info: ValidationInfo) -> dict[str, str]:
    return values.headers(value, _is_form(info))


def _v_choice(value: Any, info: ValidationInfo) -> str:
    name = str(info.field_name)
    return values.choice(name, value, specs()[name].values, str(_defaults()[name]))


def _v_secret(value: Any, info: ValidationInfo) -> str:
    return values.secret(value)


def _v_remap(value: Any, info: ValidationInfo) -> dict[str, str]:
    return values.remap(value)


@dataclass
class CrawlOptions:
    """The options of one crawl. The fields annotated with a ``Spec`` are the options a person or a client
    sets (``OPTION_FIELDS``); the others are derived from them for display (``to_dict``)."""

    # pydantic's config for the class (what its ``with_config`` sets), here without importing pydantic.
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    max_pages: Annotated[
        Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None, BeforeValidator(_v_whole),
        Spec("Pages crawled at most; further pages are checked, not crawled. Absent: the crawlers' "
             "default (LINKPATROL_MAX_PAGES, 100,000).", label="Max pages",
             hint="empty: the crawlers' default, 100,000 unless set", widget="number",
             attrs='min="1" inputmode="numeric" placeholder="100000"', metavar="N")] = None
    max_depth: Annotated[
        Annotated[int, Field(ge=0, le=MAX_LIMIT)] | None, BeforeValidator(_v_whole),
        Spec("Links followed from the start page at most (0: the start page only); deeper pages are "
             "checked, not crawled. Absent: the crawlers' default (LINKPATROL_MAX_DEPTH, 100).",
             label="Max depth", hint="empty: the crawlers' default, 100 unless set", widget="number",
             attrs='min="0" inputmode="numeric" placeholder="100"', metavar="N")] = None
    max_duration: Annotated[
        Annotated[int, Field(ge=1, le=MAX_DURATION)] | None, BeforeValidator(_v_duration),
        Spec("How long the crawl may run, then it stops (what it found is kept): seconds, or a text such as "
             '"90m", "2h", "1d" (at most 30 days). Absent: the crawlers\' default (LINKPATROL_MAX_DURATION, 12h).',
             label="Time limit", hint="seconds, or 90m, 2h, 1d; empty: the crawlers' default, 12h unless set",
             attrs='inputmode="text" maxlength="12" placeholder="12h"', metavar="TIME", cli_text=True,
             flag_help="stop the crawl after this long: seconds, or 90m, 2h, 1d (default: the crawlers' "
                       "LINKPATROL_MAX_DURATION, 12h)")] = None
    notify: Annotated[
        list[str], BeforeValidator(_v_emails),
        Spec(f"Email addresses the report is mailed to when the crawl ends (at most {MAX_NOTIFY}; a form: "
             "comma-separated).", label="Email the report to", hint="optional, comma-separated",
             error_prefix="Email:", wide=True, attrs='autocomplete="email"', metavar="EMAIL",
             flag_help="mail the report when it ends")] = field(default_factory=list)
    notify_when: Annotated[
        str, BeforeValidator(_v_choice),
        Spec("When the report mail and the webhooks go out: always, problems (dead links or missing anchors "
             "found), changes (something new or fixed since the site's previous crawl).",
             label="Send it", hint="the report mail and the webhooks", widget="select", error_prefix="When:",
             choices=(("always", "every time"), ("problems", "when problems are found"),
                      ("changes", "when something is new or fixed")), places=NOT_CHECK)] = "always"
    webhooks: Annotated[
        list[str], BeforeValidator(_v_list("http(s) URLs", lines_only=True)),
        Spec(f"http(s) URLs POSTed a JSON summary when the crawl ends (at most {MAX_WEBHOOKS}); never shown "
             "again, only their host and path.", label="Webhooks", error_prefix="Webhooks:",
             hint="optional: http(s) URLs, one a line; a JSON POST when the crawl ends, shown to Slack and "
                  "Mattermost as text", widget="textarea", wide=True, flag="--webhook", metavar="URL",
             attrs='rows="2" spellcheck="false" autocomplete="off" placeholder="https://hooks.example.org/linkpatrol"',
             flag_help="POST a JSON summary to URL when the crawl ends (give it up to 5 times)",
             places=NOT_CHECK)] = field(default_factory=list, repr=False)
    webhook_secret: Annotated[
        str, BeforeValidator(_v_secret),
        Spec("Signs each webhook POST (X-Linkpatrol-Signature-256); printable ASCII, at most "
             f"{MAX_WEBHOOK_SECRET} characters; never shown again.", label="Webhook secret",
             hint="optional: signs each POST; never shown again", widget="password", error_prefix="Secret:",
             attrs='autocomplete="new-password" maxlength="256"', flag="--webhook-secret-env", metavar="VAR",
             flag_env=True, secret=True, places=NOT_CHECK,
             flag_help="sign the webhooks with the secret in the environment variable VAR (a secret on the "
                       "command line would show in ps)")] = field(default="", repr=False)
    respect_robots: Annotated[
        bool, BeforeValidator(_v_flag),
        Spec("Obey robots.txt.", label="Obey robots.txt", widget="checkbox", flag="--no-robots",
             flag_help="do not obey robots.txt")] = True
    check_external: Annotated[
        bool, BeforeValidator(_v_flag),
        Spec("Check links to other hosts.", label="Check links to other sites", widget="checkbox",
             flag="--no-external", flag_help="do not check links to other hosts")] = True
    # The crawl's rules (``linkpatrol.model.rules``): what is left alone, what is the site, what is alive.
    exclude: Annotated[
        list[str], BeforeValidator(_v_list("regular expressions", lines_only=True)),
        Spec(f"Regular expressions (RE2) searched in each URL: a URL one is found in is left alone, neither "
             f"checked nor followed (at most {MAX_PATTERNS}, {MAX_PATTERN_LENGTH} characters each).",
             label="Leave these URLs alone", hint="regular expressions, one a line", error_prefix="Exclude:",
             wide=True, widget="textarea", advanced=True, metavar="REGEX",
             attrs='rows="3" spellcheck="false" placeholder="/calendar/&#10;[?&amp;]sort="')] = field(
        default_factory=list)
    same_site: Annotated[
        list[str], BeforeValidator(_v_list("host names")),
        Spec(f"More hosts (host[:port]) that are part of the site; www. and the bare domain always are "
             f"(at most {MAX_SAME_SITE}).", label="Also part of the site",
             hint="host names, one a line; www. and the bare domain always are", error_prefix="Same site:",
             widget="textarea", advanced=True, metavar="HOST",
             attrs='rows="2" spellcheck="false" placeholder="docs.example.org"')] = field(default_factory=list)
    accept: Annotated[
        list[str], BeforeValidator(_v_list("status codes or ranges")),
        Spec(f'Status codes also taken as alive: "403", "200-299", "403@github.com" (at most {MAX_ACCEPT}).',
             label="Also take as alive", hint="status codes or ranges, optionally @host", error_prefix="Accept:",
             widget="textarea", advanced=True, metavar="SPEC",
             attrs='rows="2" spellcheck="false" placeholder="403@github.com&#10;500-599@legacy.example.org"')] = field(
        default_factory=list)
    # Request headers for the crawled site. Secrets: never in the record's options, a page, an export,
    # a mail or a log; only ``header_names`` are (the values live in ``Keys.crawl_headers``).
    headers: Annotated[
        dict[str, str], BeforeValidator(_v_headers),
        Spec(f'Request headers for the crawled site (Authorization, Cookie...): an object of names and values, '
             f'or "Name: value" lines (at most {MAX_HEADERS}); never shown again, only their names.',
             label="Request headers for the site", hint='one "Name: value" a line, sent to the site only',
             error_prefix="Headers:", wide=True, widget="textarea", advanced=True, flag="--header",
             metavar='"NAME: VALUE"', secret=True,
             flag_help="a request header for the site (Authorization, Cookie...); never shown again",
             attrs='rows="2" spellcheck="false" autocomplete="off" placeholder="Authorization: Bearer ..."')] = field(
        default_factory=dict, repr=False)
    max_page_size: Annotated[
        Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] | None, BeforeValidator(_v_whole),
        Spec(f"Megabytes of a page of the site read and parsed (1 to {MAX_PAGE_SIZE}). Absent: the crawlers' "
             "default, 32.", label="Largest page read", hint=f"megabytes, 1 to {MAX_PAGE_SIZE}; default 32",
             error_prefix="Page size:", widget="number", advanced=True, metavar="MB",
             message=f"must be a whole number of megabytes from 1 to {MAX_PAGE_SIZE}",
             attrs=f'min="1" max="{MAX_PAGE_SIZE}" inputmode="numeric"')] = None
    # Politeness towards the crawled site, shared by every crawler; None: the crawler's default.
    site_concurrency: Annotated[
        Annotated[int, Field(ge=1, le=MAX_SITE_CONCURRENCY)] | None, BeforeValidator(_v_whole),
        Spec("Requests under way to the site at once, all crawlers together. Absent: the crawlers' default.",
             label="Requests at once to the site", hint="optional, all crawlers", error_prefix="Requests at once",
             widget="number", advanced=True, attrs='min="1" inputmode="numeric"', metavar="N",
             message=f"must be a whole number from 1 to {MAX_SITE_CONCURRENCY}")] = None
    site_rate: Annotated[
        Annotated[float, Field(gt=0, le=MAX_SITE_RATE)] | None, BeforeValidator(_v_rate),
        Spec("Requests per second to the site, all crawlers together. Absent: the crawlers' default.",
             label="Requests per second to the site", hint="optional, all crawlers", widget="number",
             advanced=True, attrs='min="0.1" step="0.1" inputmode="decimal"', metavar="R",
             message=f"must be requests per second, above 0 and at most {MAX_SITE_RATE}")] = None
    subdomains: Annotated[
        bool, BeforeValidator(_v_flag),
        Spec("Subdomains of the start page's domain are part of the site.",
             label="Subdomains are part of the site", widget="checkbox", advanced=True)] = False
    head_first: Annotated[
        bool, BeforeValidator(_v_flag),
        Spec("Check links that are not parsed with HEAD first (GET when refused).",
             label="Check links that are not parsed with HEAD first", widget="checkbox", advanced=True)] = False
    # Off by default: a re-crawl asks for each page the site's last crawls read with If-None-Match /
    # If-Modified-Since and reuses the links of one that answers 304 (frontier/known_pages.py), and
    # takes links to other sites that a crawl found ok lately as ok (frontier/link_cache.py).
    fresh: Annotated[
        bool, BeforeValidator(_v_flag),
        Spec("Read and check everything afresh: every page in full (otherwise a page an earlier crawl of the "
             "site read is asked for only if it changed, and its links are reused on 304 Not Modified), and "
             "every link to another site (otherwise one a crawl found ok lately is not requested again).",
             label="Read and check everything afresh (no conditional requests, no cached results)",
             widget="checkbox", advanced=True)] = False
    # Read robots.txt's Sitemap: lines (else /sitemap.xml): every url listed is checked, and alive
    # pages listed there that no crawled page links to are reported as orphans.
    sitemaps: Annotated[
        bool, BeforeValidator(_v_flag),
        Spec("Read the sitemaps (robots.txt's Sitemap: lines, else /sitemap.xml): every URL listed is "
             "checked, and pages listed that no page links to are reported as orphans.",
             label="Read the sitemaps, report orphan pages", widget="checkbox", advanced=True,
             flag="--no-sitemaps", flag_help="do not read the sitemaps (no orphan pages)")] = True
    # Which #fragments are checked against the target page's ids: "site" (pages of the crawled
    # site), "all" (other hosts' HTML pages too, read to the end within the size cap) or "none".
    check_fragments: Annotated[
        str, BeforeValidator(_v_choice),
        Spec("Which #fragments are checked against the target page's ids: site (pages of the crawled site), "
             "all (other hosts' HTML pages too), none.", label="Check #fragments against the page's ids",
             widget="select", advanced=True, wide=True, metavar="MODE",
             choices=(("site", "on pages of this site"), ("all", "on every HTML page, other hosts too"),
                      ("none", "never")))] = "site"
    # Which pages are loaded in a headless browser before their links are read (crawler/render,
    # docs/RENDERING.md): only crawlers started with LINKPATROL_RENDER_PAGES render; the default is the
    # deployment's, LINKPATROL_RENDER (shipped: never).
    render: Annotated[
        str, BeforeValidator(_v_choice),
        Spec("Which pages of the site are loaded in a headless browser, their links read after scripts ran: "
             "never, always (every HTML page), auto (pages whose HTML looks like an application shell: an "
             "empty mount element, a noscript asking for JavaScript, next to no links). Absent: the "
             "deployment's default (LINKPATROL_RENDER, never unless set).",
             label="Run the pages' JavaScript (headless browser)", widget="select", advanced=True, wide=True,
             metavar="MODE", places=EVERYWHERE,
             choices=(("never", "never"), ("auto", "when a page looks like an app that needs it"),
                      ("always", "on every page of the site"))),
    ] = field(default_factory=lambda: render_default())
    # URL prefix -> URL prefix: a found link starting with a key is checked at the value instead (a
    # production address mapped to the copy being checked: ``linkpatrol check DIR --site-url``).
    remap: Annotated[
        dict[str, str], BeforeValidator(_v_remap),
        Spec(f"URL prefix -> URL prefix: a link found starting with a key is checked at the value instead "
             f"(at most {MAX_REMAP}); linkpatrol check sets it from --site-url.", flag="--site-url",
             places=frozenset({Place.API, Place.START}))] = field(default_factory=dict)
    # Derived, shown instead of the secrets: header names, webhook targets (``webhook_target``: no user,
    # query or fragment, where receivers put their tokens), whether the webhooks are signed. The secrets
    # stay out of the record (``Keys.crawl_headers``, ``Keys.crawl_secrets``); the webhook URLs are stored
    # in the record (``to_json``) but never shown (``to_dict``: pages, API, exports).
    header_names: Annotated[list[str], Field(description="the names of the request headers sent, never their "
                                                         "values")] = field(default_factory=list)
    webhook_targets: Annotated[list[str], Field(description="where the webhooks go: scheme, host and path of "
                                                            "each")] = field(default_factory=list)
    webhook_signed: Annotated[bool, Field(description="whether the webhooks carry a signature")] = False

    def __post_init__(self) -> None:
        if self.headers:
            self.header_names = list(self.headers)
        if self.webhook_secret:
            self.webhook_signed = True
        if self.webhooks:
            self.webhook_targets = [values.webhook_target(u) for u in self.webhooks]

    def with_headers(self, headers: Mapping[str, str]) -> CrawlOptions:
        """These options with ``headers`` as their request headers (a re-run's, read from the store)."""
        return replace(self, headers=dict(headers), header_names=list(headers))

    def with_webhook_secret(self, secret: str) -> CrawlOptions:
        """These options with ``secret`` signing their webhooks (a re-run's, read from the store)."""
        return replace(self, webhook_secret=secret, webhook_signed=bool(secret))

    def validate(self) -> CrawlOptions:
        """Check every option (InvalidOption names the field) and spell host names and accept entries
        the one way the rules compare them."""
        checked = _validated({name: getattr(self, name) for name in OPTION_FIELDS}, form=False)
        for name in OPTION_FIELDS:
            setattr(self, name, getattr(checked, name))
        return self._check()

    def _check(self) -> CrawlOptions:
        """The checks that span an option's entries (counts, the rules' grammar, headers, webhooks)."""
        if len(self.notify) > MAX_NOTIFY:
            raise InvalidOption("notify", f"at most {MAX_NOTIFY} addresses")
        self._validate_rules()
        values.check_headers(self.headers)
        if self.headers:
            self.header_names = list(self.headers)
        self.webhooks = values.check_webhooks(self.webhooks)
        self.webhook_targets = [values.webhook_target(u) for u in self.webhooks]
        values.check_webhook_secret(self.webhook_secret)
        self.webhook_signed = bool(self.webhook_secret)
        return self

    def _validate_rules(self) -> None:
        if len(self.exclude) > MAX_PATTERNS:
            raise InvalidOption("exclude", f"at most {MAX_PATTERNS} patterns")
        for pattern in self.exclude:
            if len(pattern) > MAX_PATTERN_LENGTH:
                raise InvalidOption("exclude", f"{pattern[:40]!r}... is longer than {MAX_PATTERN_LENGTH} characters")
        try:
            compile_patterns(self.exclude)  # RE2's grammar, and their compiled size together
        except ValueError as exc:
            raise InvalidOption("exclude", str(exc)) from None
        if len(self.same_site) > MAX_SAME_SITE:
            raise InvalidOption("same_site", f"at most {MAX_SAME_SITE} hosts")
        self.same_site = list(dict.fromkeys(values.entry("same_site", h, site_host) for h in self.same_site))
        if len(self.accept) > MAX_ACCEPT:
            raise InvalidOption("accept", f"at most {MAX_ACCEPT} entries")
        self.accept = list(dict.fromkeys(str(values.entry("accept", str(a), AcceptRule.parse)) for a in self.accept))
        if not isinstance(self.remap, Mapping):
            raise InvalidOption("remap", REMAP_SHAPE)
        if len(self.remap) > MAX_REMAP:
            raise InvalidOption("remap", f"at most {MAX_REMAP} prefixes")
        remap: dict[str, str] = {}
        for source, target in self.remap.items():
            if not isinstance(source, str) or not isinstance(target, str):
                raise InvalidOption("remap", "prefixes must be strings")
            remap[values.entry("remap", source, remap_prefix)] = values.entry("remap", target, remap_prefix)
        self.remap = remap

    def to_dict(self) -> dict[str, Any]:
        """The options as shown everywhere (pages, API, exports): header names, never values; webhook
        targets, never the URLs or their secret."""
        data = asdict(self)
        for name in SECRET_FIELDS:
            del data[name]
        return data

    def to_json(self) -> str:
        """The options as the record stores them: ``to_dict`` and the webhook URLs."""
        return json.dumps({**self.to_dict(), "webhooks": list(self.webhooks)})

    def to_input(self) -> dict[str, Any]:
        """The options as ``parse_options`` takes them, header values included: a start message's
        shape. Secrets: never store or show this."""
        data = self.to_dict()
        for name in DERIVED_FIELDS:
            del data[name]
        return {**data, "headers": dict(self.headers), "webhooks": list(self.webhooks),
                "webhook_secret": self.webhook_secret}

    @classmethod
    def from_json(cls, raw: str | None) -> CrawlOptions:
        data = json.loads(raw) if raw else {}
        return cls(**{k: v for k, v in data.items()
                      if k in cls.__dataclass_fields__ and k not in ("headers", "webhook_secret")})


def parse_options(data: Mapping[str, Any], *, form: bool = False) -> CrawlOptions:
    """Crawl options from a JSON object (the API, a start message, a schedule), a form or the command
    line's flags: the one validation of them all. Raises InvalidOption naming the field, also for an
    unknown one. A form sends unchecked checkboxes as absent: absent means false there."""
    if not form:
        unknown = sorted(set(data) - set(OPTION_FIELDS))
        if unknown:
            raise InvalidOption(unknown[0], "is not a crawl option")
    values = {name: data[name] for name in OPTION_FIELDS if name in data}
    if form:
        values.update({name: data.get(name, "") for name, spec in specs().items() if spec.widget == "checkbox"})
    return _validated(values, form=form)._check()


# -- what is derived from the model -------------------------------------------------------------------
def _unmade(*args: Any, **kwargs: Any) -> None:
    """Stands for pydantic's ``Field`` and ``BeforeValidator`` where the annotations are read for their
    ``Spec`` only (``specs``): nothing of pydantic is made or imported."""


@cache
def _pydantic() -> type[TypeAdapter[CrawlOptions]]:
    """pydantic, imported at the first validation (or schema): 44 ms of the start of every process that
    never validates an option, each crawler's among them. Its ``Field`` and ``BeforeValidator`` go into
    this module's namespace, where pydantic reads the class's annotations (``from __future__ import
    annotations``: they are strings until then)."""
    from pydantic import BeforeValidator, Field, TypeAdapter

    globals().update(BeforeValidator=BeforeValidator, Field=Field)
    return TypeAdapter


@cache
def specs() -> dict[str, Spec]:
    """Option name -> its Spec, in the order of the declaration."""
    hints = get_type_hints(CrawlOptions, globalns={**vars(sys.modules[__name__]), "Field": _unmade,
                                                   "BeforeValidator": _unmade}, include_extras=True)
    found: dict[str, Spec] = {}
    for f in fields(CrawlOptions):
        spec = next((m for m in getattr(hints[f.name], "__metadata__", ()) if isinstance(m, Spec)), None)
        if spec is not None:
            found[f.name] = spec
    return found


@cache
def _defaults() -> dict[str, Any]:
    """Option name -> its default value."""
    out: dict[str, Any] = {}
    for f in fields(CrawlOptions):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


def default(name: str) -> Any:
    return _defaults()[name]


@cache
def _adapter() -> TypeAdapter[CrawlOptions]:
    return _pydantic()(CrawlOptions)


def _left_out(name: str, value: Any) -> bool:
    """Whether ``value`` is what an option left out gives: None, or its default, of its very type
    (``0`` is no ``False``, ``[]`` no ``{}``)."""
    default = _defaults()[name]
    return value is None or (type(value) is type(default) and value == default)


def _validated(values: Mapping[str, Any], *, form: bool) -> CrawlOptions:
    if not form and all(name in OPTION_FIELDS and _left_out(name, value) for name, value in values.items()):
        # Nothing set: the defaults, valid as declared. A command or a crawl that sets no option (most
        # checks) does not import pydantic to be told so (44 ms of its start).
        return CrawlOptions()
    adapter = _adapter()
    from pydantic import ValidationError  # imported by _adapter

    try:
        return adapter.validate_python(dict(values), context={"form": form})
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> InvalidOption:
    """The first error pydantic found, as the one error shape: the field and a sentence about it."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "options"
    ctx = error.get("ctx") or {}
    if isinstance(ctx.get("error"), InvalidOption):  # raised by the field's own parsing
        return ctx["error"]  # type: ignore[no-any-return]
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return InvalidOption(name, "is not a crawl option")
    spec = specs().get(name)
    if spec is not None and spec.message:
        return InvalidOption(name, spec.message)
    bounds = {"greater_than_equal": ("ge", "must be at least {:,}"), "greater_than": ("gt", "must be above {:,}"),
              "less_than_equal": ("le", "must be at most {:,}"), "less_than": ("lt", "must be below {:,}")}
    if error["type"] in bounds:
        key, text = bounds[error["type"]]
        return InvalidOption(name, text.format(ctx[key]))
    return InvalidOption(name, str(error["msg"]).lower())


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the options a client sends (the OpenAPI document's ``CrawlOptions``)."""
    schema = _adapter().json_schema()
    properties = schema.get("properties", {})
    schema["properties"] = {name: properties[name] for name in OPTION_FIELDS}
    for name, prop in schema["properties"].items():
        prop.pop("title", None)
        spec = specs()[name]
        if spec.cli_text:  # a duration may be a text too: "90m", "2h", "1d"
            prop["anyOf"].insert(1, {"type": "string", "pattern": r"^\s*\d{1,7}\s*[smhdSMHD]?\s*$"})
        prop["x-places"] = sorted(str(p) for p in spec.places)
    schema.pop("required", None)
    schema["title"] = "CrawlOptions"
    schema["description"] = ("Crawl options; every one may be left out. A limit left out (or null) takes the "
                             "crawlers' default.")
    return schema


def shown_json_schema() -> dict[str, Any]:
    """The JSON Schema of the options as every reader is shown them (``CrawlOptions.to_dict``: pages, API,
    exports): the options a client sends without their secrets, and what is derived from those."""
    schema = json_schema()
    derived = _adapter().json_schema(mode="serialization")["properties"]
    props = {name: prop for name, prop in schema["properties"].items() if name not in SECRET_FIELDS}
    for name in DERIVED_FIELDS:
        props[name] = {k: v for k, v in derived[name].items() if k != "title"}
    return {**schema, "properties": props, "title": "Options",
            "description": "A crawl's options as stored and shown: secrets (header values, webhook URLs and "
                           "their secret) are never shown, only what is derived from them."}


@dataclass(frozen=True)
class FormField:
    """One option as the forms draw it (the ``option_fields`` macro of web/templates/_macros.html)."""

    name: str
    spec: Spec

    @property
    def error_prefix(self) -> str:
        return self.spec.error_prefix or self.spec.label


def form_fields(place: Place = Place.FORM) -> list[FormField]:
    """The options a form shows, in the declaration's order."""
    return [FormField(name, spec) for name, spec in specs().items() if place in spec.places and spec.label]


def form_defaults() -> dict[str, Any]:
    """A form's values before anyone typed: the defaults as the form shows them ("" for none)."""
    out: dict[str, Any] = {}
    for f in form_fields():
        value = default(f.name)
        out[f.name] = value if isinstance(value, bool) or f.spec.widget == "select" else (
            "" if value in (None, [], {}) else value)
    return out


def render_default(environ: Mapping[str, str] | None = None) -> str:
    """The ``render`` mode of a crawl that does not say: LINKPATROL_RENDER (never, always, auto)."""
    return env.choice(environ, "LINKPATROL_RENDER", "never", RENDER_MODES)


OPTION_FIELDS = tuple(specs())  # the option names of the API, the forms, the CLI and a start message
SECRET_FIELDS = ("headers", "webhook_secret", "webhooks")  # stored apart or never shown (to_dict)
DERIVED_FIELDS = ("header_names", "webhook_targets", "webhook_signed")  # shown instead of the secrets
NOTIFY_WHEN = specs()["notify_when"].values
FRAGMENT_MODES = specs()["check_fragments"].values
RENDER_MODES = specs()["render"].values


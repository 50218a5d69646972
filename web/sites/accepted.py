"""A site's accepted links over HTTP: the site page's forms (here, on the sites blueprint) and the JSON
API's routes (``web.api``) share the identity they record and the JSON shape they answer with. The
logic and the storage are ``linkpatrol.reports.accepted``'s."""

from __future__ import annotations

from typing import Any

from linkpatrol.reports.accepted import AcceptedLink
from linkpatrol.reports.summary import iso
from web.auth.views import identity


def who() -> str:
    """Who accepts, as the list shows it: the signed-in user's name, ``API token``, or "" when the app
    asks nobody to sign in."""
    ident = identity() or ""
    if ident == "token":
        return "API token"
    return ident.removeprefix("user:")


def accepted_json(site: str, link: AcceptedLink) -> dict[str, Any]:
    return {"site": site, "url": link.url, "by": link.by or None, "at": iso(link.at), "note": link.note or None}

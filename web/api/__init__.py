"""The JSON API blueprint (see docs/API.md and /api/openapi.json)."""

from web.api.views import bp

__all__ = ["bp"]

"""The auth blueprint: the login page, and the gate every request passes (``require_login``)."""

from web.auth.views import bp, require_login

__all__ = ["bp", "require_login"]

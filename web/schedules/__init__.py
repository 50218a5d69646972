"""The schedules blueprint: ``/api/schedules`` (JSON) and the site page's schedule forms; the tick job
(``jobs``) and the cron process that enqueues it (``python -m web.processes.cron``)."""

from web.schedules.views import bp

__all__ = ["bp"]

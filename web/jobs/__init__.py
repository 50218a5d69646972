"""The jobs page (``/jobs``, Kue style: the mail and webhook jobs, retry and delete, live counts) and the
mail actions of the pages (send a crawl's report now, send a test mail). The jobs themselves live in
``web.notifications``; the worker that runs them in ``web.processes.worker``."""

from web.jobs.views import bp

__all__ = ["bp"]

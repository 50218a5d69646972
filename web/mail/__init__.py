"""Mail: the report mail and the test mail (``message``, templates in ``templates/mail``), handing
them to SMTP or a folder (``transport``), the RQ jobs that send them (``jobs``, enqueued by
``queue``), the worker process (``python -m web.mail.worker``), and the blueprint of the jobs page
and the mail actions (``views``). Only ``views`` needs Flask."""

from web.mail.views import bp

__all__ = ["bp"]

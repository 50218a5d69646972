"""Notifications: the report mail (``mail``) and webhooks (``webhooks``), each sent by a retrying RQ
job; ``queue`` enqueues both, ``attempts`` is their shared retry policy, ``settings`` what they read
from the environment. No Flask here: the jobs run in the RQ worker (``web.processes.worker``)."""

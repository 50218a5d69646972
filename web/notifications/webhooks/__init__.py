"""Webhooks of ended crawls: the RQ job that sends one (``jobs``). It runs on the mail queue, in the
mail worker, and shows on the jobs page with the mails; the payload, signature and guarded sending
live in ``linkpatrol.watch.webhooks``."""

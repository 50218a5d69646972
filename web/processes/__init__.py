"""The long-running processes beside the web app: the RQ worker (``python -m web.processes.worker``:
mail and webhook jobs, the schedule ticks) and the cron scheduler (``python -m web.processes.cron``)."""

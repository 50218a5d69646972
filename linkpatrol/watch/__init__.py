"""Watching a site over time: schedules and webhooks."""

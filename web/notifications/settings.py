"""Mail and mail-job settings, read from the environment in one place.

Used by the job functions (in the RQ worker), the worker process and the pages; no Flask import.
Every variable is read by ``linkpatrol.env``; a bad value raises its ``BadSetting``, naming the variable.
See docs/NOTIFICATIONS.md for every variable.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from linkpatrol import env as read

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
# What a job does with a mail an earlier attempt handed to the server (up to its final ".") without
# seeing an answer (its worker died): send it again (a possible duplicate, same Message-ID) or not (a
# possible loss). See docs/NOTIFICATIONS.md, "The mail window".
UNANSWERED_MODES = ("resend", "skip")
ROOT = Path(__file__).resolve().parents[2]

@dataclass(frozen=True)
class MailSettings:
    """Where mail goes (SMTP or a folder), and how mail jobs retry and time out."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_security: str = "starttls"
    smtp_timeout: int = 30
    sender: str = "linkpatrol@localhost"
    mail_dir: Path = ROOT / "state" / "outbox"
    base_url: str = "http://127.0.0.1:8000"
    # Retry policy: ``attempts`` tries in all, the n-th retry waits about ``retry_delay * 2**(n-1)``
    # seconds (at most ``retry_max_delay``), each wait jittered by +-``jitter``.
    attempts: int = 6
    retry_delay: int = 120
    retry_max_delay: int = 3600
    jitter: float = 0.2
    # Report content.
    max_targets: int = 50
    max_referrers: int = 5
    # Worker: an attempt may take ``job_timeout`` seconds; a job whose worker vanished is taken back
    # ``heartbeat_grace`` seconds after its last heartbeat (RQ's own value is 60).
    job_timeout: int = 120
    heartbeat_grace: int = 60
    monitor_interval: int = 30
    maintenance_interval: int = 60
    result_ttl: int = 7 * 24 * 3600
    unanswered: str = "resend"
    # Webhooks: seconds to connect and to wait for each read (a slow receiver fails the attempt).
    webhook_timeout: int = 10

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def transport(self) -> str:
        """A sentence for pages and logs: where mail goes."""
        if self.smtp_enabled:
            return f"SMTP {self.smtp_host}:{self.smtp_port} ({self.smtp_security})"
        return f"no SMTP server configured: mails are written to {self.mail_dir}"

    def retry_intervals(self, rng: random.Random | None = None) -> list[int]:
        """One wait per retry (RQ repeats the first value of a shorter list), exponential with jitter."""
        rng = rng or random.Random()
        waits = []
        for n in range(self.attempts - 1):
            base = min(self.retry_delay * 2**n, self.retry_max_delay)
            waits.append(max(0, round(base * rng.uniform(1 - self.jitter, 1 + self.jitter))))
        return waits

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if env is None else env
        d = cls()
        security = read.choice(env, "LINKPATROL_SMTP_SECURITY", d.smtp_security, SECURITY_MODES)
        base_url = read.text(env, "WEB_BASE_URL", f"http://127.0.0.1:{read.text(env, 'LINKPATROL_WEB_PORT', '8000')}")
        return cls(
            smtp_host=read.text(env, "LINKPATROL_SMTP_HOST"),
            smtp_port=read.whole(env, "LINKPATROL_SMTP_PORT", DEFAULT_PORTS[security], 1, 65535),
            smtp_user=env.get("LINKPATROL_SMTP_USER") or "",
            smtp_password=env.get("LINKPATROL_SMTP_PASSWORD") or "",  # as given: spaces may be part of it
            smtp_security=security,
            smtp_timeout=read.whole(env, "LINKPATROL_SMTP_TIMEOUT", d.smtp_timeout, 1),
            sender=read.text(env, "LINKPATROL_SMTP_SENDER", d.sender),
            mail_dir=Path(read.text(env, "LINKPATROL_MAIL_DIR") or ROOT / "state" / "outbox"),
            base_url=base_url.rstrip("/"),
            attempts=read.whole(env, "LINKPATROL_MAIL_ATTEMPTS", d.attempts, 1),
            retry_delay=read.whole(env, "LINKPATROL_MAIL_RETRY_DELAY", d.retry_delay),
            retry_max_delay=read.whole(env, "LINKPATROL_MAIL_RETRY_MAX_DELAY", d.retry_max_delay),
            max_targets=read.whole(env, "LINKPATROL_MAIL_MAX_TARGETS", d.max_targets, 1),
            max_referrers=read.whole(env, "LINKPATROL_MAIL_MAX_REFERRERS", d.max_referrers, 1),
            job_timeout=read.whole(env, "LINKPATROL_MAIL_JOB_TIMEOUT", d.job_timeout, 1),
            heartbeat_grace=read.whole(env, "LINKPATROL_JOB_HEARTBEAT_GRACE", d.heartbeat_grace, 1),
            monitor_interval=read.whole(env, "LINKPATROL_JOB_MONITOR_INTERVAL", d.monitor_interval, 1),
            maintenance_interval=read.whole(env, "LINKPATROL_JOB_MAINTENANCE_INTERVAL", d.maintenance_interval, 1),
            unanswered=read.choice(env, "LINKPATROL_MAIL_UNANSWERED", d.unanswered, UNANSWERED_MODES),
            webhook_timeout=read.whole(env, "LINKPATROL_WEBHOOK_TIMEOUT", d.webhook_timeout, 1),
        )

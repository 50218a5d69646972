"""Mail and mail-job settings, read from the environment in one place.

Used by the job functions (in the RQ worker), the worker process and the pages; no Flask import.
A bad value raises ``linkpatrol.config.BadSetting`` naming the variable. See docs/NOTIFICATIONS.md
for every variable.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from linkpatrol.config import BadSetting

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
# What a job does with a mail an earlier attempt handed to the server (up to its final ".") without
# seeing an answer (its worker died): send it again (a possible duplicate, same Message-ID) or not (a
# possible loss). See docs/NOTIFICATIONS.md, "The mail window".
UNANSWERED_MODES = ("resend", "skip")
ROOT = Path(__file__).resolve().parents[2]

def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadSetting(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise BadSetting(f"{name} must be at least {minimum}, got {value}")
    return value


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
        security = (env.get("LINKPATROL_SMTP_SECURITY") or "starttls").strip().lower()
        if security not in SECURITY_MODES:
            raise BadSetting(f"LINKPATROL_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, got {security!r}")
        port = _int(env, "LINKPATROL_SMTP_PORT", DEFAULT_PORTS[security], 1)
        web_port = env.get("LINKPATROL_WEB_PORT") or "8000"
        base_url = env.get("WEB_BASE_URL") or f"http://127.0.0.1:{web_port}"
        mail_dir = Path(env.get("LINKPATROL_MAIL_DIR") or ROOT / "state" / "outbox")
        attempts = _int(env, "LINKPATROL_MAIL_ATTEMPTS", 6, 1)
        unanswered = (env.get("LINKPATROL_MAIL_UNANSWERED") or "resend").strip().lower()
        if unanswered not in UNANSWERED_MODES:
            raise BadSetting(f"LINKPATROL_MAIL_UNANSWERED must be one of {', '.join(UNANSWERED_MODES)}, "
                             f"got {unanswered!r}")
        return cls(
            smtp_host=(env.get("LINKPATROL_SMTP_HOST") or "").strip(),
            smtp_port=port,
            smtp_user=env.get("LINKPATROL_SMTP_USER") or "",
            smtp_password=env.get("LINKPATROL_SMTP_PASSWORD") or "",
            smtp_security=security,
            smtp_timeout=_int(env, "LINKPATROL_SMTP_TIMEOUT", 30, 1),
            sender=(env.get("LINKPATROL_SMTP_SENDER") or "linkpatrol@localhost").strip(),
            mail_dir=mail_dir,
            base_url=base_url.rstrip("/"),
            attempts=attempts,
            retry_delay=_int(env, "LINKPATROL_MAIL_RETRY_DELAY", 120),
            retry_max_delay=_int(env, "LINKPATROL_MAIL_RETRY_MAX_DELAY", 3600),
            max_targets=_int(env, "LINKPATROL_MAIL_MAX_TARGETS", 50, 1),
            max_referrers=_int(env, "LINKPATROL_MAIL_MAX_REFERRERS", 5, 1),
            job_timeout=_int(env, "LINKPATROL_MAIL_JOB_TIMEOUT", 120, 1),
            heartbeat_grace=_int(env, "LINKPATROL_JOB_HEARTBEAT_GRACE", 60, 1),
            monitor_interval=_int(env, "LINKPATROL_JOB_MONITOR_INTERVAL", 30, 1),
            maintenance_interval=_int(env, "LINKPATROL_JOB_MAINTENANCE_INTERVAL", 60, 1),
            unanswered=unanswered,
            webhook_timeout=_int(env, "LINKPATROL_WEBHOOK_TIMEOUT", 10, 1),
        )

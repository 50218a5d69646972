"""Server-side sign-in sessions: a session cookie is only as good as its id in Redis.

The web app's session cookie is signed, not stored: by itself it stays valid for its whole lifetime,
so a cookie copied before a logout would still open every page. Each login therefore opens a session
here (a random id in the user's sorted set, scored by its expiry); every request with a session
cookie asks whether its id is still open; a logout ends it, and "log out everywhere" ends all of the
user's sessions at once. Shared by every web process through Redis, like the login throttle.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from linkpatrol.store.keys import Keys

KEEP = 100  # open sessions per user: a further login ends the oldest


class LoginSessions:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def open(self, user: str, lifetime: float) -> str:
        """A new session of ``user`` for ``lifetime`` seconds. Returns its id (for the cookie)."""
        sid = secrets.token_urlsafe(24)
        key = self.keys.login_sessions(user)
        now = time.time()
        pipe = self.r.pipeline(transaction=True)
        pipe.zadd(key, {sid: now + lifetime})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zremrangebyrank(key, 0, -KEEP - 1)
        pipe.expire(key, max(1, int(lifetime) + 1))  # the newest session outlives the others
        pipe.execute()
        return sid

    def alive(self, user: str, sid: str) -> bool:
        """Whether session ``sid`` of ``user`` is still open (one round trip)."""
        expiry = self.r.zscore(self.keys.login_sessions(user), sid)
        return expiry is not None and float(expiry) > time.time()

    def end(self, user: str, sid: str) -> None:
        """Log out one session."""
        self.r.zrem(self.keys.login_sessions(user), sid)

    def end_all(self, user: str) -> None:
        """Log ``user`` out everywhere."""
        self.r.delete(self.keys.login_sessions(user))

    def count(self, user: str) -> int:
        """The user's open sessions (expired ones may be counted until the next login prunes them)."""
        return int(self.r.zcard(self.keys.login_sessions(user)))

"""Sign-in state kept in Redis: server-side sessions and the login throttle."""

"""The store: Redis connections, the key layout and what is kept in Redis (crawls, reports, the crawler
registry, events, start messages)."""

"""The model: what a crawl, its options and a link result are, and the verdict types. Pure: no Redis, no I/O."""

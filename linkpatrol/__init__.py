"""linkpatrol's shared model: configuration, keys, the frontier, records, verdicts, the wire format and
the store. No Scrapy and no Flask here: the crawler (``crawler``) and the web app (``web``) build on it."""

"""How the crawler fetches http(s): Scrapy's aiohttp download handler, owned here (``handler``), and its
resolver (``resolver``), where the address policy is applied to the addresses connected to."""

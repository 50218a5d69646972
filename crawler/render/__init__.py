"""Rendering pages in a headless browser (docs/RENDERING.md): the ``render`` option of a crawl.

- ``detect``: the ``auto`` rule (does the static HTML look like an application shell?);
- ``routing``: which crawler renders (``LINKPATROL_RENDER_PAGES``), parking pages for one that does,
  and giving them back when none is alive (``linkpatrol.frontier.render_queue``);
- ``middleware``: sends a page to the browser, parks it, or reads it as it is;
- ``handler``: scrapy-playwright's download handler with the address policy on every browser
  request, a context per crawl, a page limit and a time limit;
- ``job``: what a rendered page gives (shadow roots, hash routes, failed requests) and its links.

Nothing here is imported by a crawler that does not render, but ``routing`` (no browser library).
"""

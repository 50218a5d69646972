"""A site on the IPv6 loopback and a page on an IPv4 site that links to it.

``python -m tests.support.sites.server --bind ::1 ipv6`` serves ``v6``; ``... ipv6 PORT`` (on
127.0.0.1) serves ``v4``, whose home page links to the ``v6`` site on port PORT by its bracketed
literal ``http://[::1]:PORT/``.
"""

from __future__ import annotations

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

TEAPOT = Route(status=418, body="short and stout")


def build(v6_port: str = "") -> dict[str, object]:
    if not v6_port:
        home = page("IPv6 home", '<a href="/ok">Fine</a> <a href="/gone">Gone</a> <a href="/teapot">Teapot</a>'
                                 ' <a href="http://[::1]:{v6}/ok#again">Fine again</a>'
                                 ' <a href="http://[0:0::1]:{v6}/ok">Fine, long form</a>')
        return {"v6": {"/": home, "/ok": page("Ok", "<p id='again'>fine</p>"), "/teapot": TEAPOT}}
    v6 = f"http://[::1]:{int(v6_port)}"
    home = page("IPv4 home", f'<a href="{v6}/">IPv6 home</a> <a href="{v6}/ok">IPv6 fine</a>'
                             f' <a href="{v6}/gone">IPv6 gone</a> <a href="{v6}/teapot">IPv6 teapot</a>'
                             ' <a href="/ok">Fine here</a>')
    return {"v4": {"/": home, "/ok": page("Ok", "fine")}}

"""A site for URL identity: one resource linked under several spellings, and look-alike URLs that name
different resources and must stay apart.

``/enc/café.html`` is missing (a 404 reported with every referrer); ``/enc/~user-page.html`` is a page
linked under six spellings; the look-alikes differ by an escaped reserved character, ``+`` against
``%20`` against ``%2B``, or the order of the query.
"""

from __future__ import annotations

from tests.support.sites.fixture import page

# The same resource (RFC 3986 section 6.2.2): one fetch, one report.
CAFE = "/enc/caf%C3%A9.html"  # its normal form
CAFE_SPELLINGS = ("/enc/café.html", "/enc/caf%C3%A9.html", "/enc/caf%c3%a9.html", "/enc/%63af%C3%A9.html")
USER = "/enc/~user-page.html"
USER_SPELLINGS = ("/enc/~user-page.html", "/enc/%7Euser-page.html", "/enc/%7euser%2Dpage.html",
                  "/enc/%7E%75ser-page.html", "/enc/./~user-page.html", "/x/../enc/%7Euser-page.html")
# Different resources however alike they look: each is requested once, under exactly this name.
LOOKALIKES = ("/enc/a%2Fb.html", "/enc/a/b.html", "/search?q=a+b", "/search?q=a%20b", "/search?q=a%2Bb",
              "/search?a=1&b=2", "/search?b=2&a=1", "/search?x=%2F", "/search?x=/")


def build() -> dict[str, object]:
    spellings = " ".join(f'<a href="/p{i}.html">Page {i}</a>' for i in range(1, 5))
    home = page("Home", f"""<nav>{spellings}</nav>
<a href="{CAFE_SPELLINGS[2]}#menu">Café menu</a> <a href="{USER_SPELLINGS[0]}">User</a>
""" + " ".join(f'<a href="{url}">Look-alike {i}</a>' for i, url in enumerate(LOOKALIKES)))
    pages = {
        f"/p{i}.html": page(f"Page {i}", f'<a href="{cafe}">Café {i}</a> <a href="{user}">User {i}</a>'
                            f' <img src="http://127.0.0.1:{{main}}{cafe}" alt="Café picture {i}">')
        for i, (cafe, user) in enumerate(zip(CAFE_SPELLINGS, USER_SPELLINGS[1:5], strict=True), start=1)
    }
    user = page("User", f'<a href="{USER_SPELLINGS[5]}">Myself</a> <a href="/">Home</a>'
                        f' <a href="HTTP://127.0.0.1:{{main}}{USER_SPELLINGS[4]}">Myself again</a>')
    lookalike = page("Look-alike", "a resource of its own")
    return {"main": {
        "/": home,
        **pages,
        USER: user,
        "/enc/a/b.html": lookalike,  # answers "/enc/a%2Fb.html" too: the server decodes the path
        "/search": lookalike,
    }}

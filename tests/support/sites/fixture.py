"""The fixture site: every kind of link the crawler handles, and the truth about each.

Sites: ``main`` (the one crawled), ``ext`` (another host: checked, never followed) and ``tls``
(https with a self-signed certificate). Bodies use ``{main}`` / ``{ext}`` / ``{tls}`` for ports.
"""

from __future__ import annotations

import datetime
import socket
import tempfile
from pathlib import Path

from tests.support.sites.server import Route

PAGE = "<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def page(title: str, body: str, head: str = "") -> Route:
    return Route(body=PAGE.replace("{title}", title).replace("{head}", head).replace("{body}", body))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(directory: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linkpatrol-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def build(closed: str = "") -> dict[str, object]:
    refused = int(closed) if closed else closed_port()
    index = page("Home", f"""
<nav><a href="/about.html">About us</a> <a href="/blog/">Blog</a> <a href="/hostile.html">Odd page</a></nav>
<a href="/missing.html">Missing page</a>
<a href="mailto:someone@example.org">mail</a> <a href="tel:+123">call</a>
<a href="javascript:void(0)">js</a> <a href="#top">top</a> <a href="">empty</a>
<img src="/img/logo.png" alt="Logo"> <img src="/img/gone.png" alt="Gone image">
<img src="/img/a.png" srcset="/img/a.png 1x, /img/gone-2x.png 2x" alt="Responsive">
<picture><source srcset="/img/gone-webp.webp" type="image/webp"><img src="/img/a.png" alt="Pic"></picture>
<script src="/js/gone.js"></script>
<a href="http://127.0.0.1:{{ext}}/ok">External ok</a>
<a href="http://127.0.0.1:{{ext}}/gone#section">External gone</a>
<a href="http://127.0.0.1:{{ext}}/head-405">Refuses HEAD</a>
<a href="http://127.0.0.1:{{ext}}/server-error">Server error</a>
<a href="http://127.0.0.1:{{ext}}/ratelimited">Rate limited</a>
<a href="http://127.0.0.1:{{ext}}/forbidden">Forbidden</a>
<a href="http://127.0.0.1:{{ext}}/slow">Slow</a>
<a href="http://127.0.0.1:{{ext}}/page.html">External page</a>
<a href="http://127.0.0.1:{refused}/">Nobody home</a>
<a href="https://127.0.0.1:{{tls}}/">Bad certificate</a>
<a href="/redirect-ok">Moved page</a> <a href="/redirect-dead">Moved then gone</a>
<a href="/loop-a">Loop</a> <a href="/chain/0">Long chain</a>
<a href="/private/secret.html">Private</a>
<iframe src="http://127.0.0.1:{{ext}}/frame"></iframe>
<video src="/media/gone.mp4"></video> <audio src="/media/ok.mp3"></audio>
<map name="m"><area href="/gone-area" alt="Area link"></map>
""".replace("{refused}", str(refused)), head='<link rel="stylesheet" href="/css/site.css">'
        '<link rel="icon" href="/favicon-gone.ico"><link rel="preconnect" href="http://127.0.0.1:{ext}">')
    about = page("About", """
<a href="/">Home</a> <a href="/missing.html">Broken again</a> <a href="/about.html#team">Team</a>
<a href="/file.pdf">Brochure</a> <a href="http://[bad-url/">Malformed</a> <a href="ftp://127.0.0.1/file">FTP</a>
<a href="/deep/1.html">Deep</a>
""")
    blog = page("Blog", '<a href="post1.html">First post</a> <a href="missing-post.html">Lost post</a>',
                head='<base href="/blog/posts/">')
    post1 = page("Post 1", '<a href="../../">Home</a>')
    deep = {f"/deep/{i}.html": page(f"Deep {i}", f'<a href="/deep/{i + 1}.html">Deeper {i + 1}</a>')
            for i in range(1, 4)}
    deep["/deep/4.html"] = page("Deep 4", '<a href="/deep/gone.html">Deep gone</a>')
    hostile = page("Odd", """<a href="/gone-hostile"><script>alert(1)</script></a>
<a href="/gone-hostile2">&lt;img src=x onerror=alert(1)&gt;</a>
<div><p><a href="/about.html">unclosed <b>tags <i>everywhere</a>
<a href='/about.html' onclick="x">\x00nul</a> <a href="   /blog/   ">spaces</a>
""")
    chain = {f"/chain/{i}": Route(status=302, headers={"Location": f"/chain/{i + 1}"}) for i in range(25)}
    main = {
        "/": index,
        "/robots.txt": Route(body="User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
        "/about.html": about,
        "/blog/": blog,
        "/blog/posts/post1.html": post1,
        "/hostile.html": hostile,
        "/img/logo.png": Route(body="png", content_type="image/png"),
        "/img/a.png": Route(body="png", content_type="image/png"),
        "/css/site.css": Route(body="body {{}}", content_type="text/css"),
        "/media/ok.mp3": Route(body="mp3", content_type="audio/mpeg"),
        "/file.pdf": Route(body="%PDF-1.4 " + "x" * 100_000, content_type="application/pdf"),
        "/redirect-ok": Route(status=301, headers={"Location": "/about.html"}),
        "/redirect-dead": Route(status=302, headers={"Location": "/nowhere.html"}),
        "/loop-a": Route(status=302, headers={"Location": "/loop-b"}),
        "/loop-b": Route(status=302, headers={"Location": "/loop-a"}),
        "/private/secret.html": page("Secret", "secret"),
        **deep,
        **chain,
    }
    ext = {
        "/ok": page("Ok", "fine"),
        "/head-405": Route(body="ok", head_status=405),
        "/server-error": Route(status=500, body="oops"),
        "/ratelimited": Route(status=429, body="slow down", headers={"Retry-After": "1"}),
        "/forbidden": Route(status=403, body="no"),
        "/slow": Route(body="late", delay=30),
        "/page.html": page("Ext", '<a href="/never-followed">never</a>'),
        "/frame": page("Frame", "frame"),
    }
    tls = self_signed(Path(tempfile.mkdtemp(prefix="lp-tls-")))
    return {"main": main, "ext": ext, "tls": ({"/": page("TLS", "hi")}, tls)}


def truth(ports: dict[str, int], refused: int) -> dict[str, tuple[object, str, set[tuple[str, str]]]]:
    """Every url the crawl must report as not ok: (status or error kind, outcome, {(page, text)})."""
    m = f"http://127.0.0.1:{ports['main']}"
    e = f"http://127.0.0.1:{ports['ext']}"
    home, about = f"{m}/", f"{m}/about.html"
    return {
        f"{m}/missing.html": (404, "dead", {(home, "Missing page"), (about, "Broken again")}),
        f"{m}/img/gone.png": (404, "dead", {(home, "Gone image")}),
        f"{m}/img/gone-2x.png": (404, "dead", {(home, "Responsive")}),
        f"{m}/img/gone-webp.webp": (404, "dead", {(home, "")}),
        f"{m}/js/gone.js": (404, "dead", {(home, "")}),
        f"{m}/favicon-gone.ico": (404, "dead", {(home, "")}),
        f"{m}/media/gone.mp4": (404, "dead", {(home, "")}),
        f"{m}/gone-area": (404, "dead", {(home, "Area link")}),
        f"{m}/redirect-dead": (404, "dead", {(home, "Moved then gone")}),
        f"{m}/loop-a": ("redirect-loop", "dead", {(home, "Loop")}),
        f"{m}/chain/0": ("too-many-redirects", "dead", {(home, "Long chain")}),
        f"{m}/blog/posts/missing-post.html": (404, "dead", {(f"{m}/blog/", "Lost post")}),
        f"{m}/deep/gone.html": (404, "dead", {(f"{m}/deep/4.html", "Deep gone")}),
        f"{m}/gone-hostile": (404, "dead", {(f"{m}/hostile.html", "alert(1)")}),
        f"{m}/gone-hostile2": (404, "dead", {(f"{m}/hostile.html", "<img src=x onerror=alert(1)>")}),
        "http://[bad-url/": ("invalid-url", "dead", {(about, "Malformed")}),
        f"{e}/gone": (404, "dead", {(home, "External gone")}),
        f"{e}/server-error": (500, "dead", {(home, "Server error")}),
        f"{e}/slow": ("timeout", "dead", {(home, "Slow")}),
        f"http://127.0.0.1:{refused}/": ("refused", "dead", {(home, "Nobody home")}),
        f"https://127.0.0.1:{ports['tls']}/": ("tls", "dead", {(home, "Bad certificate")}),
        f"{e}/ratelimited": (429, "rate_limited", {(home, "Rate limited")}),
        f"{e}/forbidden": (403, "blocked", {(home, "Forbidden")}),
        f"{m}/private/secret.html": ("robots", "excluded", {(home, "Private")}),
        "ftp://127.0.0.1/file": ("unsupported-scheme", "unsupported", {(about, "FTP")}),
    }

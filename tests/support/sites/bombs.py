"""Compression bombs: answers of 1 GB of zeros that weigh a few kB to 1 MB on the wire.

Site ``main``: ``/`` links one bomb per encoding, each an in-scope HTML page (``BOMBS``: gzip,
deflate, br, zstd, ``gzip, gzip`` nested, and gzip whose Content-Length claims 5 GB), a stylesheet bomb
(``/bomb.css``), a brotli bomb of a non-HTML file small enough on the wire to be read to its end as a
check (``/bomb.bin``) and ``/ok.html``, an ordinary page; robots.txt names ``/sitemap.xml``, a gzip
bomb. Site ``robots``: robots.txt is the bomb, ``/`` links ``/ok.html``. For comparison (the
benchmark), sites ``near_gzip`` and ``near_plain``: ``/`` is a page of 31 MB of zeros, just under the
default cap, gzip-encoded (31 kB on the wire) or not.

The bodies are built once per server process, without compressing a gigabyte: a zlib stream
(gzip, deflate) is one block of 1 MB of zeros compressed after a full flush (which resets the
compressor's history, so every such block compresses to the same bytes) repeated, then the end of
the stream with the checksum of the whole; zstd is a series of frames (a decoder reads them all);
brotli is compressed as a stream (about a second).
"""

from __future__ import annotations

import functools
import struct
import zlib

import brotli
from backports import zstd

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

GB = 1 << 30
BLOCK = bytes(1 << 20)

# path -> Content-Encoding of the in-scope HTML pages that are bombs
BOMBS = {
    "/gzip.html": "gzip",
    "/deflate.html": "deflate",
    "/br.html": "br",
    "/zstd.html": "zstd",
    "/nested.html": "gzip, gzip",
    "/lying.html": "gzip",  # its Content-Length claims 5 GB
}
# Every answer of site main the crawl reads and must find too large.
TOO_LARGE = (*BOMBS, "/bomb.css", "/bomb.bin", "/sitemap.xml")


def _zlib_zeros(size: int, wbits: int) -> bytes:
    """``size`` zeros (a multiple of 1 MB) as one zlib (wbits 15) or gzip (wbits 31) stream."""
    count = size // len(BLOCK)
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = c.compress(BLOCK) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(BLOCK) + c.flush(zlib.Z_FULL_FLUSH)
    gzip = wbits > 15
    end = c.flush()[: -8 if gzip else -4]  # the last (empty) block, without the trailer of 2 MB
    if gzip:
        crc = 0
        for _ in range(count):
            crc = zlib.crc32(BLOCK, crc)
        trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    else:
        trailer = struct.pack(">I", ((size % 65521) << 16) | 1)  # adler32 of zeros: a = 1, b = size
    return first + again * (count - 1) + end + trailer


@functools.cache
def zeros(encoding: str, size: int = GB) -> bytes:
    """``size`` zeros (a multiple of 1 MB) in ``encoding`` (gzip, deflate, br, zstd)."""
    if encoding == "gzip":
        return _zlib_zeros(size, 31)
    if encoding == "deflate":
        return _zlib_zeros(size, 15)
    if encoding == "zstd":
        return zstd.compress(BLOCK) * (size // len(BLOCK))
    if encoding == "br":
        c = brotli.Compressor(quality=5)
        return b"".join(c.process(BLOCK) for _ in range(size // len(BLOCK))) + c.finish()
    raise ValueError(encoding)


def encoded(content_encoding: str, size: int = GB) -> bytes:
    """``size`` zeros encoded as a Content-Encoding header says (``"gzip, gzip"``: gzip applied twice)."""
    first, *then = [e.strip() for e in content_encoding.split(",")]
    body = zeros(first, size)
    for encoding in then:
        assert encoding == "gzip", encoding
        body = zlib.compress(body, 9, wbits=31)
    return body


def bomb(content_encoding: str, content_type: str = "text/html", length: int | None = None) -> Route:
    """A bomb answer; ``length``: the Content-Length it claims instead of its own."""
    headers = {"Content-Encoding": content_encoding}
    if length is not None:
        headers["Content-Length"] = str(length)
    return Route(raw=encoded(content_encoding), content_type=content_type, headers=headers)


def build() -> dict[str, object]:
    links = "".join(f'<a href="{path}">{path}</a> ' for path in BOMBS)
    main = {
        "/": page("Bombs", f'<link rel="stylesheet" href="/bomb.css"> {links}'
                           '<a href="/bomb.bin">a file</a> <a href="/ok.html">ok</a>'),
        "/ok.html": page("Ok", '<a href="/">Home</a>'),
        "/robots.txt": Route(body="User-agent: *\nAllow: /\nSitemap: http://127.0.0.1:{main}/sitemap.xml\n",
                             content_type="text/plain"),
        "/sitemap.xml": bomb("gzip", "application/xml"),
        "/bomb.css": bomb("gzip", "text/css"),
        "/bomb.bin": bomb("br", "application/octet-stream"),
        **{path: bomb(encoding) for path, encoding in BOMBS.items()},
        "/lying.html": bomb("gzip", length=5 * GB),
    }
    robots = {
        "/": page("Robots bomb", '<a href="/ok.html">ok</a>'),
        "/ok.html": page("Ok", '<a href="/">Home</a>'),
        "/robots.txt": bomb("gzip", "text/plain"),
    }
    near = 31 << 20
    return {"main": main, "robots": robots,
            "near_gzip": {"/": Route(raw=zeros("gzip", near), headers={"Content-Encoding": "gzip"})},
            "near_plain": {"/": Route(raw=bytes(near))}}

"""A page full of links whose hosts are invalid in every way a page can spell one (issue 11, item 9):
the crawl reports each as a dead link and logs at most a line for it, never a traceback."""

from __future__ import annotations

from tests.support.sites.server import Route

# Each shape with {i}: one distinct host per link, so no host-level verdict hides the later ones.
SHAPES = [
    "http://a{i}..example/",  # an empty label
    "http://{long}{i}.example/",  # a label over 63 characters (IDNA refuses it)
    "http://-bad{i}-.example/",  # a label that starts with a hyphen
    "http://xn--{i}/",  # a punycode label that does not decode
    "http://bad_host{i}!.example/",  # characters a host cannot hold
    "http://[::{i}g]/",  # an IPv6 literal that is not one
    "http://host{i}.example:99999/",  # a port out of range
    "http://exa%{i}zz.example/",  # a broken percent-escape in the host
]


def links(per_shape: int) -> list[str]:
    return [shape.format(i=i, long="x" * 70) for shape in SHAPES for i in range(per_shape)]


def build(per_shape: str = "25") -> dict[str, object]:
    anchors = " ".join(f'<a href="{url}">bad {n}</a>' for n, url in enumerate(links(int(per_shape))))
    return {"main": {"/": Route(body=f"<html><body><h1>Bad hosts</h1>{anchors}</body></html>")}}

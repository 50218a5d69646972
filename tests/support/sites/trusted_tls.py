"""Two https sites on loopback for a check through TLS: ``main``, with a certificate for 127.0.0.1 that
the given files name (signed by a CA the test trusts through SSL_CERT_FILE: ``tests/support/certificates``),
linking to a page of its own that is missing and to ``other``, whose certificate is self-signed."""

from __future__ import annotations

from tests.support.sites.fixture import page


def build(cert: str, key: str, other_cert: str, other_key: str) -> dict[str, object]:
    home = page("Secure", '<a href="/gone.html">Gone</a> <a href="/ok.html">Fine</a> '
                          '<a href="https://127.0.0.1:{other}/">Self-signed</a>')
    return {"main": ({"/": home, "/ok.html": page("Fine", "fine")}, (cert, key)),
            "other": ({"/": page("Other", "hi")}, (other_cert, other_key))}

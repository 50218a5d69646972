"""The browser's only way out: an HTTP proxy in the crawler process that applies the address policy
where the connection is made.

Chromium resolves names itself, and Playwright's routes see neither the hops of a redirect nor what a
name resolves to, so a check of the URL alone leaves holes: a redirect to a private address, a name
that resolves to one (or is rebound to one between the check and the browser's own lookup). Every
request of the browser goes through this proxy instead (``--proxy-server``; Playwright adds
``<-loopback>`` to the bypass list, so loopback too): for each connection it resolves the host once,
refuses it (403) unless every address is allowed, and connects to the very address it checked. The
judging is the crawler's resolver's (``crawler.download.resolver.GuardedResolver``, as for the crawler's
own connections: one policy, one cache). ``CONNECT`` (https, ws, wss) is tunnelled; a plain http
request is forwarded with ``Connection: close``, one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from crawler.download.resolver import GuardedResolver
from crawler.failures import NotAllowedAddress

logger = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT = 10.0
HOP_HEADERS = (b"proxy-connection", b"connection", b"keep-alive", b"proxy-authorization")


class GuardProxy:
    def __init__(self, resolver: GuardedResolver, refused: Callable[[str], None] | None = None) -> None:
        self.resolver = resolver
        self.refused = refused or (lambda target: None)
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def address_for(self, host: str, port: int) -> str | None:
        """The address to connect to for ``host``, None when the policy refuses it (or it does not resolve)."""
        try:
            found = await self.resolver.resolve(host.strip("[]"), port)
        except (NotAllowedAddress, OSError):
            return None
        return found[0]["host"] if found else None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_HEAD:
                return
            line, _, rest = head.partition(b"\r\n")
            method, target, version = line.split(b" ", 2)
            if method == b"CONNECT":
                host, port = _split_host_port(target.decode("latin-1"), 443)
                path_line = b""
            else:
                url = target.decode("latin-1")
                scheme, _, after = url.partition("://")
                if scheme.lower() != "http":
                    await _answer(writer, 400)
                    return
                authority, slash, path = after.partition("/")
                host, port = _split_host_port(authority, 80)
                path_line = b" ".join((method, ("/" + path).encode("latin-1") if slash else b"/", version))
            address = await self.address_for(host, port)
            if address is None:
                self.refused(f"{host}:{port}")
                await _answer(writer, 403)
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(address, port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError):
                await _answer(writer, 502)
                return
            upstream = up_writer
            if method == b"CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                headers = [h for h in rest.split(b"\r\n")
                           if h and h.split(b":", 1)[0].strip().lower() not in HOP_HEADERS]
                up_writer.write(b"\r\n".join([path_line, *headers, b"Connection: close", b"", b""]))
                await up_writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except ValueError:  # no request line, no port that is a port: an answer, not a traceback
            if upstream is None:
                await _answer(writer, 400)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    with contextlib.suppress(Exception):
                        w.close()


def _split_host_port(authority: str, default: int) -> tuple[str, int]:
    """Host and port of ``authority``; ValueError when the port is no TCP port (``:99999``, ``:x``)."""
    authority = authority.rsplit("@", 1)[-1]
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        return host, _port(rest[1:]) if rest.startswith(":") else default
    host, colon, port = authority.rpartition(":")
    if not colon:
        return authority, default
    return host, _port(port)


def _port(text: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(f"no TCP port: {text}")
    return port


async def _answer(writer: asyncio.StreamWriter, status: int) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    with contextlib.suppress(Exception):
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()

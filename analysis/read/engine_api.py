"""A small Docker Engine API client for the engines most users have: a local socket, or plain TCP.

It offers the part of docker-py's `DockerClient` uvscope uses (`ping`, `info`, `images.list`,
`api.inspect_image`, `api.history`, `api.get_image`), over HTTP/1.0 requests on a socket of
its own per call: the engine then sends each body whole, without chunking, and closes. docker-py
(requests, urllib3, ssl: about 19 MiB and 50 ms of imports, most of a small image's read) stays
for what needs it: TLS, `ssh://` and Windows named pipes.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import quote, urlencode, urlsplit


class EngineAPIError(Exception):
    """The engine answered with an error status; `explanation` is its own message."""

    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status} {explanation}")
        self.status_code = status
        self.explanation = explanation


class EngineNotFound(EngineAPIError):
    """The engine answered 404: no such image."""


def plain_address(host: str) -> tuple[int, str | tuple[str, int]] | None:
    """(socket family, address) for a `unix://` or `tcp://` host this client can reach, or None (docker-py's hosts)."""
    if host.startswith("unix://"):
        return socket.AF_UNIX, host[len("unix://") :]
    if host.startswith(("tcp://", "http://")):
        parts = urlsplit(host)
        if parts.hostname and not parts.path.strip("/"):
            return socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET, (parts.hostname, parts.port or 2375)
    return None


class EngineAPI:
    """A Docker Engine API client on `unix://` or plain `tcp://`, shaped like the part of docker-py's client uvscope calls."""

    def __init__(self, host: str, timeout: float = 120) -> None:
        address = plain_address(host)
        if address is None:
            raise ValueError(f"{host!r}: not a unix:// or tcp:// engine address")
        self.host = host
        self.family, self.address = address
        self.timeout = timeout
        self.api = SimpleNamespace(inspect_image=self.inspect_image, history=self.history, get_image=self.get_image)
        self.images = SimpleNamespace(list=self.list_images)

    def _open(self, path: str) -> tuple[socket.socket, int, bytes]:
        """Send `GET path`; (the socket, the answer's status, the body's first bytes)."""
        connection = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            connection.settimeout(self.timeout)
            connection.connect(self.address)
            connection.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: uvscope\r\n\r\n".encode())
            received = b""
            while b"\r\n\r\n" not in received:
                more = connection.recv(65536)
                if not more:
                    raise ConnectionError("the engine closed the connection before answering")
                received += more
                if len(received) > 1 << 20:
                    raise ConnectionError("the engine's answer has no end of headers")
            head, _, rest = received.partition(b"\r\n\r\n")
            status_line = head.partition(b"\r\n")[0].decode("latin-1")
            fields = status_line.split(" ", 2)
            if len(fields) < 2 or not fields[1].isdigit():
                raise ConnectionError(f"not an HTTP answer: {status_line[:80]!r}")
            return connection, int(fields[1]), rest
        except BaseException:
            connection.close()
            raise

    def _body(self, path: str) -> bytes:
        connection, status, body = self._open(path)
        with connection:
            data = body + _rest(connection)
        if status >= 400:
            self._raise(status, data)
        return data

    @staticmethod
    def _raise(status: int, data: bytes) -> None:
        try:
            explanation = str(json.loads(data).get("message", ""))
        except (ValueError, AttributeError):
            explanation = data.decode(errors="replace").strip()
        raise (EngineNotFound if status == 404 else EngineAPIError)(status, explanation or "no explanation")

    def _json(self, path: str):
        return json.loads(self._body(path))

    def ping(self) -> bool:
        return self._body("/_ping").strip() == b"OK"

    def info(self) -> dict:
        return self._json("/info")

    def inspect_image(self, ref: str) -> dict:
        return self._json(f"/images/{quote(ref, safe='')}/json")

    def history(self, ref: str) -> list[dict]:
        return self._json(f"/images/{quote(ref, safe='')}/history")

    def list_images(self, name: str | None = None) -> list[SimpleNamespace]:
        """The engine's images (those of repository `name`), each with its `tags`, as docker-py's `images.list`."""
        query = f"?{urlencode({'filters': json.dumps({'reference': [name]})})}" if name else ""
        return [
            SimpleNamespace(id=item.get("Id", ""), tags=list(item.get("RepoTags") or [])) for item in self._json(f"/images/json{query}")
        ]

    def get_image(self, ref: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The `docker save` stream of `ref`, in chunks of up to `chunk_size` bytes; an error status raises at once."""
        connection, status, first = self._open(f"/images/{quote(ref, safe='')}/get")
        if status >= 400:
            with connection:
                self._raise(status, first + _rest(connection))

        def chunks() -> Iterator[bytes]:
            with connection:
                if first:
                    yield first
                while True:
                    more = connection.recv(chunk_size)
                    if not more:
                        return
                    yield more

        return chunks()


def _rest(connection: socket.socket) -> bytes:
    parts = []
    while more := connection.recv(65536):
        parts.append(more)
    return b"".join(parts)

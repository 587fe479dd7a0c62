"""The API route's intake: a request's body read under its operation's limit (edge/limits.py)
and in bounded time, before the edge (dispatch.Edge) handles it in a worker thread.

A body's Content-Length is checked before any of it is read; a chunked body is counted as it
arrives. A request without credentials is refused on its headers alone, its body never read.
Bodies held in memory (being read or being handled) share one budget, so however many requests
come in at once their bodies cannot take more than BODIES bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HTTPRequest

from cloudlet.edge import auth
from cloudlet.edge.http import Request, Response

BODY_SECONDS = 10.0  # what a body may take beyond its transfer at MIN_RATE
MIN_RATE = 256 << 10  # bytes per second
BODIES = 256 << 20
ROOM_WAIT = 30.0  # seconds a request waits for room in the budget before it is refused as throttled


class _TooLarge(Exception):
    pass


class _NoRoom(Exception):
    pass


def request_of(scope) -> Request:
    """The plain request of an ASGI scope, without its body."""
    return Request(
        method=scope["method"],
        path=scope["path"],
        raw_path=(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
        query_string=scope["query_string"].decode("latin-1"),
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        source=scope["client"][0] if scope.get("client") else "",
    )


def _content_length(request: Request) -> int | None:
    value = request.header("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


async def _read(http: HTTPRequest, limit: int, seconds: float) -> bytes:
    body = bytearray()
    async with asyncio.timeout(seconds):
        async for chunk in http.stream():
            if len(body) + len(chunk) > limit:
                raise _TooLarge
            body += chunk
    return bytes(body)


class Intake:
    def __init__(self, edge):
        self.edge = edge
        self._free = BODIES
        self._freed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def _room(self, size: int):
        size = min(size, BODIES)
        async with self._freed:
            try:
                await asyncio.wait_for(self._freed.wait_for(lambda: self._free >= size), ROOM_WAIT)
            except TimeoutError:
                raise _NoRoom from None
            self._free -= size
        try:
            yield
        finally:
            async with self._freed:
                self._free += size
                self._freed.notify_all()

    async def answer(self, http: HTTPRequest) -> Response:
        request = request_of(http.scope)
        limit = self.edge.body_limit(request)
        declared = _content_length(request)
        too_large = f"The request body is larger than {limit} bytes, the most this operation accepts."
        if declared is not None and declared > limit:
            return self.edge.refuse(request, "too_large", too_large)
        if auth.is_unsigned(request):
            return await run_in_threadpool(self.edge.handle, request)
        expected = limit if declared is None else declared
        seconds = BODY_SECONDS + expected / MIN_RATE
        try:
            async with self._room(expected):
                body = await _read(http, limit, seconds)
                return await run_in_threadpool(self.edge.handle, replace(request, body=body))
        except _TooLarge:
            return self.edge.refuse(request, "too_large", too_large)
        except TimeoutError:
            return self.edge.refuse(request, "timeout", f"The request body did not arrive within {seconds:.0f} "
                                    "seconds.")
        except _NoRoom:
            return self.edge.refuse(request, "busy", "Too many request bodies are being received; retry later.")
        except ClientDisconnect:
            return Response(400)  # nobody is left to read an answer

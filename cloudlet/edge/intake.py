"""The API route's intake: a request's body read under its operation's limit (edge/limits.py)
and in bounded time, before the edge (dispatch.Edge) handles it in a worker thread.

A body's Content-Length is checked before any of it is read; a chunked body is counted as it
arrives. A request without credentials is refused on its headers alone, its body never read.
A body that goes IDLE seconds without a byte, or takes longer in all than its size allows at
MIN_RATE, is cut off. Bodies held in memory (being read or being handled) share one budget
(see _Room), so however many requests come at once their bodies cannot take more than BODIES
bytes; one that finds no room within ROOM_WAIT is refused as throttled.
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
IDLE = 10.0  # seconds a body may go without a byte
BODIES = 256 << 20  # bytes of bodies in memory, all requests together
SHARE = 64 << 20  # ... of one client address
ROOM_WAIT = 5.0  # seconds a request waits for room before it is refused as throttled


class _TooLarge(Exception):
    pass


class _NoRoom(Exception):
    pass


class _Room:
    """Memory for request bodies: a request takes room for all of its body (its Content-Length, or
    its limit when chunked) before any of it is read, and gives it back once answered. Taking it
    whole means requests waiting for room have read nothing, so none starves another half-read; an
    address's share keeps one client from taking all of it."""

    def __init__(self):
        self._free = BODIES
        self._held: dict[str, int] = {}
        self._freed = asyncio.Condition()

    def _fits(self, source: str, size: int) -> bool:
        return self._free >= size and self._held.get(source, 0) + size <= SHARE

    @contextlib.asynccontextmanager
    async def of(self, source: str, size: int):
        async with self._freed:
            try:
                async with asyncio.timeout(ROOM_WAIT):
                    await self._freed.wait_for(lambda: self._fits(source, size))
            except TimeoutError:
                raise _NoRoom from None
            self._free -= size
            self._held[source] = self._held.get(source, 0) + size
        try:
            yield
        finally:
            async with self._freed:
                self._free += size
                self._held[source] -= size
                if not self._held[source]:
                    del self._held[source]
                self._freed.notify_all()


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
    parts, size = [], 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    # one timer for both deadlines, moved on with every chunk (a wait_for inside a timeout can
    # swallow the timeout's cancellation when a chunk arrives just then, on Python 3.11)
    async with asyncio.timeout(min(end, loop.time() + IDLE)) as timer:
        async for chunk in http.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            parts.append(chunk)
            timer.reschedule(min(end, loop.time() + IDLE))
    return b"".join(parts)


class Intake:
    def __init__(self, edge):
        self.edge = edge
        self._room = _Room()

    async def answer(self, http: HTTPRequest) -> Response:
        request = request_of(http.scope)
        limit = self.edge.body_limit(request)
        declared = _content_length(request)
        too_large = f"The request body is larger than {limit} bytes, the most this request may carry."
        if declared is not None and declared > limit:
            return self.edge.refuse(request, "too_large", too_large)
        if auth.is_unsigned(request):
            return await run_in_threadpool(self.edge.handle, request)
        expected = limit if declared is None else declared
        seconds = BODY_SECONDS + expected / MIN_RATE
        try:
            async with self._room.of(request.source, expected):
                body = await _read(http, limit, seconds)
                return await run_in_threadpool(self.edge.handle, replace(request, body=body))
        except _TooLarge:
            return self.edge.refuse(request, "too_large", too_large)
        except TimeoutError:
            return self.edge.refuse(request, "timeout", f"The request body did not arrive in time ({IDLE:.0f} "
                                    f"seconds without a byte, or {seconds:.0f} in all).")
        except _NoRoom:
            return self.edge.refuse(request, "busy", "Too many request bodies are being received; retry later.")
        except ClientDisconnect:
            return Response(400)  # nobody is left to read an answer

"""Admission to the API port for requests that carry credentials (a SigV4 signature, a registry
password or token), bounded in number until those are checked.

Until its credentials are verified a request is anybody's, yet it costs: the API reads its
whole body first (the signature covers it). So each such request holds a slot, one of
PER_SOURCE per client address and SLOTS in all, from its start until it is verified: its body
read whole (the API), its app first reading the body (the registry, which authenticates before
that), or its response begun, whichever comes first. A request that finds no slot waits for
one, up to WAIT seconds and behind at most QUEUE others of its address; past that it is
refused as throttled. In its slot, a request from an address with many recent failed logins
waits its turn to be checked (cloudlet.logins).
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response as HTTPResponse

from cloudlet.edge.intake import request_of
from cloudlet.registry.errors import RegistryError
from cloudlet.registry.responses import error_response

SLOTS = 128
PER_SOURCE = 16
QUEUE = 64
WAIT = 30.0

_BUSY = "Too many requests from your address are waiting to be authenticated; retry later."
_QUERY_CREDENTIALS = (b"X-Amz-Algorithm=", b"X-Amz-Credential=", b"X-Amz-Signature=", b"token=")


def _credentialed(scope) -> bool:
    if any(name == b"authorization" and value.strip() for name, value in scope["headers"]):
        return True
    query = scope.get("query_string", b"")
    return any(name in query for name in _QUERY_CREDENTIALS)


class _Source:
    """One address's slots, and how many of its requests hold or wait for one."""

    def __init__(self):
        self.slots = asyncio.Semaphore(PER_SOURCE)
        self.pending = 0


class Admission:
    def __init__(self, app, edge, logins):
        self.app = app
        self.edge = edge
        self.logins = logins
        self._slots = asyncio.Semaphore(SLOTS)
        self._sources: dict[str, _Source] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _credentialed(scope):
            return await self.app(scope, receive, send)
        address = scope["client"][0] if scope.get("client") else ""
        source = self._sources.setdefault(address, _Source())
        if source.pending >= PER_SOURCE + QUEUE:
            return await self._refuse(scope, receive, send)
        source.pending += 1
        held: list[asyncio.Semaphore] = []
        done = False

        def verified():
            nonlocal done
            if done:
                return
            done = True
            for semaphore in held:
                semaphore.release()
            source.pending -= 1
            if not source.pending:
                self._sources.pop(address, None)

        registry = scope["path"].startswith("/v2/")

        async def receive_checked():
            message = await receive()
            if registry or message["type"] != "http.request" or not message.get("more_body"):
                verified()
            return message

        async def send_checked(message):
            if message["type"] == "http.response.start":
                verified()
            await send(message)

        try:
            try:
                async with asyncio.timeout(WAIT):
                    for semaphore in (source.slots, self._slots):
                        await semaphore.acquire()
                        held.append(semaphore)
            except TimeoutError:
                verified()
                return await self._refuse(scope, receive, send)
            await self.logins.turn(address)
            await self.app(scope, receive_checked, send_checked)
        finally:
            verified()

    async def _refuse(self, scope, receive, send):
        if scope["path"].startswith("/v2/"):
            response = error_response(RegistryError("TOOMANYREQUESTS", _BUSY, 429), scope["method"])
        else:
            refused = self.edge.refuse(request_of(scope), "busy", _BUSY)
            response = HTTPResponse(refused.body, refused.status, refused.headers)
        await response(scope, receive, send)

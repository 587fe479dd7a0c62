"""The sockets `cloudlet up` serves on, bound before anything is said to be listening, and
the uvicorn servers on them: the API's, which takes the signals and stops first, and the
guests' metadata services', which stop after it."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Follower(uvicorn.Server):
    """A server that leaves the signals to the API's and stops when it is told to."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _config(app, lifespan: str) -> uvicorn.Config:
    return uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan)


def serve(api, api_socket: socket.socket, others: list[tuple[object, socket.socket]]) -> None:
    async def run() -> None:
        followers = [(_Follower(_config(app, "off")), sock) for app, sock in others]
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in followers]
        try:
            await uvicorn.Server(_config(api, "auto")).serve(sockets=[api_socket])
        finally:
            for server, _ in followers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)

    # uvloop where uvicorn would pick it
    with asyncio.Runner(loop_factory=_config(api, "auto").get_loop_factory()) as runner:
        runner.run(run())

"""What `cloudlet up` runs for the container engine beside the APIs: the fork server that
answers the engine commands warm, and the loop that applies restart policies."""

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

from cloudlet.cli.client import SOCKET_NAME
from cloudlet.config import engine_dir

log = logging.getLogger("cloudlet.engine")
RESTART_EVERY = 0.5  # seconds between looks for containers a restart policy brings back
READY_WITHIN = 10.0  # seconds the fork server may take to import what it keeps warm


def _restart_loop(root: Path, stop: threading.Event) -> None:
    from cloudlet.agent.engine import Engine

    runtime = Engine(root).runtime
    while not stop.wait(RESTART_EVERY):
        try:
            for cid in runtime.restart_exited():
                log.info("restarted container %s by its restart policy", cid[:12])
        except Exception:  # a bad container must not end the loop for all the others
            log.exception("applying restart policies")


def start(data_dir: Path):
    """Start both; returns (listening, stop): listening() returns once the fork server listens
    (or is given up on), which `cloudlet up` waits for before it says it is ready, so that the
    first command after that is a warm one too; the fork server imports meanwhile."""
    socket_path = data_dir / SOCKET_NAME
    socket_path.unlink(missing_ok=True)
    server = subprocess.Popen([sys.executable, "-m", "cloudlet.cli.forkserver", str(socket_path)],
                              stdin=subprocess.DEVNULL)

    def listening():
        deadline = time.monotonic() + READY_WITHIN
        while not socket_path.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if not socket_path.exists():
            log.warning("the engine's fork server is not listening: engine commands run without it")

    stop = threading.Event()
    threading.Thread(target=_restart_loop, args=(engine_dir(data_dir), stop), daemon=True,
                     name="restart-policies").start()

    def shutdown():
        stop.set()
        server.terminate()
        server.wait(10)
    return listening, shutdown

"""What `cloudlet up` runs for the container engine beside the APIs: the fork server that
answers the engine commands warm, and the loop that applies restart policies."""

import logging
import subprocess
import sys
import threading
from pathlib import Path

from cloudlet.cli.client import SOCKET_NAME
from cloudlet.config import engine_dir

log = logging.getLogger("cloudlet.engine")
RESTART_EVERY = 0.5  # seconds between looks for containers a restart policy brings back


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
    """Start both; returns what stops them."""
    server = subprocess.Popen([sys.executable, "-m", "cloudlet.cli.forkserver", str(data_dir / SOCKET_NAME)],
                              stdin=subprocess.DEVNULL)
    stop = threading.Event()
    threading.Thread(target=_restart_loop, args=(engine_dir(data_dir), stop), daemon=True,
                     name="restart-policies").start()

    def shutdown():
        stop.set()
        server.terminate()
        server.wait(10)
    return shutdown

"""What every reconciler shares: a thread that runs a round every `poll` seconds, or at once
when woken, and logs a failed round instead of dying of it (the next round tries again)."""

import logging
import threading
import time


class Loop:
    def start(self, name: str, poll: float, aligned: bool = False) -> None:
        """Call last in the subclass's __init__: rounds may begin at once. aligned: rounds at
        multiples of poll on the wall clock (a publisher's periods then match CloudWatch's)."""
        self.__dict__.setdefault("_wake", threading.Event())
        self._log = logging.getLogger(f"cloudlet.control.{name}")
        threading.Thread(target=self._run, args=(poll, aligned), name=name, daemon=True).start()

    def wake(self) -> None:
        # a wake before start() (from a controller this one owns) is kept for the first round
        self.__dict__.setdefault("_wake", threading.Event()).set()

    def _run(self, poll: float, aligned: bool) -> None:
        while True:
            self._wake.wait(poll - time.time() % poll if aligned else poll)
            self._wake.clear()
            try:
                self.round()
            except Exception:  # the store briefly unavailable, say
                self._log.exception("a round failed")

    def round(self) -> None:
        raise NotImplementedError

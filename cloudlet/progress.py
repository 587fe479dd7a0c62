"""Progress of long work (AMIs, base images, kernels) on the terminal, so that nothing sits
silent for minutes: each step shows its name when it begins, what it is doing now (the last
line its tools printed, through detail() from anywhere below it in the same thread), the
time it has taken, and how it ended.

On a TTY the steps under way are live lines (rich), redrawn twice a second; otherwise each
step prints a line when it begins, one every HEARTBEAT seconds while it runs, and one when it
ends, so that a log (CI, `make up > log`) shows it too. Steps may run in several threads at
once (the AMIs beside the base images)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time

HEARTBEAT = 10.0
_here = threading.local()  # the step this thread is in


class _Step:
    def __init__(self, name: str):
        self.name, self.started, self.detail = name, time.monotonic(), ""

    def line(self) -> str:
        elapsed = f"{time.monotonic() - self.started:.0f} s"
        return f"{self.name}: {elapsed}" + (f", {self.detail}" if self.detail else "")


class Board:
    """The steps under way on one stream."""

    def __init__(self, stream=None, tty: bool | None = None, heartbeat: float = HEARTBEAT):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.heartbeat = heartbeat
        self.steps: list[_Step] = []
        self.lock = threading.Lock()
        self.live = None
        self.done: threading.Event | None = None  # set: the ticker of the steps under way ends

    @contextlib.contextmanager
    def step(self, name: str):
        step = _Step(name)
        outer, _here.step = getattr(_here, "step", None), step
        with self.lock:
            self.steps.append(step)
            self._print(f"{name} ...")
            if self.done is None:
                self._start()
        ok = False
        try:
            yield step
            ok = True
        finally:
            _here.step = outer
            with self.lock:
                self.steps.remove(step)
                took = time.monotonic() - step.started
                self._print(f"{name}: {'done in' if ok else 'failed after'} {took:.1f} s")
                if not self.steps:
                    self._stop()

    def _print(self, text: str) -> None:
        if self.live is not None:
            self.live.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def _start(self) -> None:
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self.live = Live("", console=Console(file=self.stream), refresh_per_second=4, transient=True)
            self.live.start()
        self.done = threading.Event()
        threading.Thread(target=self._tick, args=(self.done,), daemon=True).start()

    def _stop(self) -> None:
        self.done.set()
        self.done = None
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _tick(self, done: threading.Event) -> None:
        every = 0.5 if self.tty else self.heartbeat
        while not done.wait(every):
            with self.lock:
                if done.is_set():
                    return
                if self.live is not None:
                    from rich.text import Text

                    self.live.update(Text("\n".join("  " + s.line() for s in self.steps)))
                else:
                    for s in self.steps:
                        self._print("  " + s.line())


_board: Board | None = None


def board() -> Board:
    global _board
    if _board is None:
        _board = Board()
    return _board


def step(name: str):
    """A step of the terminal's board: `with progress.step("AMI cloudlet-debian"): ...`."""
    return board().step(name)


def detail(text: str) -> None:
    """What the step this thread is in is doing now (nothing outside a step)."""
    step = getattr(_here, "step", None)
    if step is not None and text.strip():
        step.detail = text.strip()[:100]

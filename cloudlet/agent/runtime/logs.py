"""Reading conmon's k8s-file logs: "<RFC3339Nano> <stdout|stderr> <F|P> <text>" per line.

conmon splits long output into partial ("P") records and ends each line with a full
("F") one; a reader joins them back. The file is the only copy, so a restarted agent
reads and follows it exactly like the one that started the container.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass
class LogLine:
    time: str     # RFC 3339 with nanoseconds, as conmon wrote it
    stream: str   # "stdout" or "stderr"
    text: str     # without the trailing newline


def _parse(record: bytes) -> tuple[str, str, str, str] | None:
    parts = record.split(b" ", 3)
    if len(parts) < 3:
        return None
    ts, stream, tag = (p.decode(errors="replace") for p in parts[:3])
    text = parts[3].decode(errors="replace") if len(parts) == 4 else ""
    return ts, stream, tag, text


def _records(f, follow: bool, done: Callable[[], bool], poll: float) -> Iterator[bytes | None]:
    """Complete (newline-terminated) records from f, and None each time the reader has
    caught up with the writer. When following, waits for more until done() says the
    writer is gone, then drains what it wrote last."""
    pending = b""
    # Short waits first (a short-lived container's output comes at once), longer ones
    # while nothing is written.
    wait = 0.002
    while True:
        chunk = f.read(65536)
        if chunk:
            wait = 0.002
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from complete
            continue
        yield None
        if not follow:
            return
        if done():
            rest = f.read()
            if not rest:
                return
            pending += rest
            *complete, pending = pending.split(b"\n")
            yield from complete
            continue
        time.sleep(wait)
        wait = min(wait * 2, poll)


def read_logs(path, *, follow: bool = False, tail: int | None = None,
              done: Callable[[], bool] = lambda: True, poll: float = 0.05) -> Iterator[LogLine]:
    """Lines of the log in order (only the last `tail` of those already written, if
    given); with follow, keeps yielding new ones until done() is true."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        # stream -> (time of its first piece, pieces) of a line not finished yet
        partial: dict[str, tuple[str, list[str]]] = {}
        last = deque(maxlen=tail) if tail is not None else None
        for rec in _records(f, follow, done, poll):
            if rec is None:
                if not follow:
                    break
                if last is not None:  # caught up: the tail is complete, follow from here
                    yield from last
                    last = None
                continue
            parsed = _parse(rec)
            if parsed is None:
                continue
            ts, stream, tag, text = parsed
            first_ts, pieces = partial.pop(stream, (ts, []))
            if tag == "P":
                partial[stream] = (first_ts, pieces + [text])
                continue
            line = LogLine(first_ts, stream, "".join(pieces) + text)
            if last is not None:
                last.append(line)
            else:
                yield line
        # Output that ended without a newline stays partial in the file: still a line.
        rest = [LogLine(ts, stream, "".join(pieces)) for stream, (ts, pieces) in partial.items()]
        if last is not None:
            last.extend(rest)
            rest = list(last)
        yield from rest


def read_from(path, offset: int) -> tuple[list[LogLine], int]:
    """The whole lines written since byte offset, and the offset to continue from: for a
    reader that ships the log elsewhere in pieces. A line whose end (its "F" record) is not
    written yet is left, with everything after its start, for the next call."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    done: list[tuple[LogLine, int]] = []  # each line, and the file position after it
    partial: dict[str, tuple[str, list[str], int]] = {}  # stream -> (time, pieces, where it began)
    position = offset
    for record in data.split(b"\n")[:-1]:  # the last piece has no newline yet
        start, position = position, position + len(record) + 1
        parsed = _parse(record)
        if parsed is None:
            continue
        ts, stream, tag, text = parsed
        first_ts, pieces, began = partial.pop(stream, (ts, [], start))
        if tag == "P":
            partial[stream] = (first_ts, pieces + [text], began)
        else:
            done.append((LogLine(first_ts, stream, "".join(pieces) + text), position))
    limit = min((began for _, _, began in partial.values()), default=position)
    lines = [line for line, end in done if end <= limit]
    return lines, max([end for _, end in done if end <= limit], default=offset if partial else position)

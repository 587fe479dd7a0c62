"""Progress of long steps without a TTY: a line when a step begins, heartbeats with its time
and what it is doing (the last detail given in its thread), a line when it ends or fails;
steps in two threads at once each with their own detail."""

import io
import threading
import time

import pytest

from cloudlet import progress


def test_a_step_says_when_it_begins_what_it_does_and_how_it_ended():
    board = progress.Board(io.StringIO(), tty=False, heartbeat=0.1)
    with board.step("AMI cloudlet-debian"):
        progress.detail("mmdebstrap: I: extracting archives...\n")
        time.sleep(0.35)
    progress.detail("outside any step: dropped")
    lines = board.stream.getvalue().splitlines()
    assert lines[0] == "AMI cloudlet-debian ..."
    assert "  AMI cloudlet-debian: 0 s, mmdebstrap: I: extracting archives..." in lines[1:-1]
    assert lines[-1].startswith("AMI cloudlet-debian: done in 0.")
    assert not any("dropped" in line for line in lines)
    time.sleep(0.3)
    assert board.stream.getvalue().splitlines() == lines  # no heartbeat once nothing runs


def test_a_failed_step_says_so_and_steps_in_two_threads_keep_their_own_detail():
    board = progress.Board(io.StringIO(), tty=False, heartbeat=0.1)

    def image():
        with board.step("image nginx:latest"):
            progress.detail("apt-get install: Unpacking nginx")
            time.sleep(0.3)

    other = threading.Thread(target=image)
    with pytest.raises(RuntimeError):
        with board.step("kernel"):
            other.start()
            progress.detail("apt-get download: linux-image")
            time.sleep(0.3)
            raise RuntimeError("no mirror")
    other.join()
    out = board.stream.getvalue()
    assert "kernel: failed after 0." in out and "image nginx:latest: done in 0." in out
    assert "  kernel: 0 s, apt-get download: linux-image" in out
    assert "  image nginx:latest: 0 s, apt-get install: Unpacking nginx" in out


def test_a_detail_is_one_short_line():
    board = progress.Board(io.StringIO(), tty=False, heartbeat=0.05)
    with board.step("x") as step:
        progress.detail("y" * 500 + "\n")
        assert step.detail == "y" * 100

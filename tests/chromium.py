"""Screenshots of pages and images in headless Chromium (Debian's `chromium`), and what is
in them: the test of a rendered report is that a browser really drew it.

The PNG is read with zlib and struct (8-bit RGB/RGBA, not interlaced: what Chromium
writes), so that the check needs nothing beyond the standard library."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

BINARY = "chromium"
TIMEOUT = 120  # seconds: a cold start on a loaded 2-core host takes a few


def screenshot(target: Path, png: Path, profile: Path, size: tuple[int, int] = (1280, 2400)) -> "Picture":
    """Chromium's rendering of the file `target` (a page, an SVG), saved in `png` and read
    back. `profile` is a fresh user-data dir, so that parallel runs do not share a profile."""
    cmd = [shutil.which(BINARY) or BINARY, "--headless=new", "--disable-gpu", "--hide-scrollbars",
           # Root has no user namespaces to spare for the sandbox here; the pages are our own.
           "--no-sandbox", f"--user-data-dir={profile}", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--run-all-compositor-stages-before-draw",
           f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", Path(target).resolve().as_uri()]
    # A session of its own, so that a timeout ends the renderer and GPU processes too.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"chromium took over {TIMEOUT} s to screenshot {target}") from None
    if proc.returncode != 0 or not png.exists():
        tail = output.decode(errors="replace")[-2000:]
        raise AssertionError(f"chromium exited {proc.returncode} without {png}:\n{tail}")
    return Picture.read(png)


@dataclass
class Picture:
    width: int
    height: int
    colours: Counter  # (r, g, b) -> how many pixels

    @classmethod
    def read(cls, path: Path) -> "Picture":
        width, height, channels, rows = decode(path.read_bytes())
        colours = Counter()
        for row in rows:
            colours.update(row[x:x + 3] for x in range(0, len(row), channels))
        return cls(width, height, Counter({tuple(k): n for k, n in colours.items()}))

    def ink(self) -> float:
        """The share of pixels that are not white."""
        return 1 - self.colours[(255, 255, 255)] / (self.width * self.height)

    def has(self, colour: str, pixels: int = 50) -> bool:
        """Whether at least `pixels` pixels are exactly the colour "#rrggbb"."""
        return self.colours[tuple(bytes.fromhex(colour.lstrip("#")))] >= pixels

    def assert_drawn(self, colours: int = 50, ink: float = 0.02) -> None:
        """Not blank: many distinct colours (text is anti-aliased), and some ink."""
        assert len(self.colours) >= colours, f"only {len(self.colours)} distinct colours"
        assert self.ink() >= ink, f"only {self.ink():.1%} of the pixels are not white"


def decode(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and the unfiltered rows of a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length  # length, type, body, CRC
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    rows, prev = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        rows.append(prev := unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), prev, bpp))
    return width, height, bpp, rows


def unfilter(kind: int, line: bytearray, prev: bytes, bpp: int) -> bytes:
    """One row with its PNG filter (None, Sub, Up, Average, Paeth) undone."""
    if kind == 0:
        return bytes(line)
    if kind == 2:
        return bytes((a + b) & 255 for a, b in zip(line, prev))
    if kind not in (1, 3, 4):
        raise ValueError(f"unknown PNG filter {kind}")
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 3:
            line[i] = (line[i] + (left + prev[i]) // 2) & 255
        else:
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
    return bytes(line)

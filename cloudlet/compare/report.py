"""What `cloudlet compare` hands back: the report's files in a folder (compare.json as
measured, the SVG plots, index.html) and its summary as a terminal table."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table
from rich.text import Text

from cloudlet.compare import page, plots
from cloudlet.compare.figures import ROWS, kind, label


def write(report: dict, out: Path) -> list[Path]:
    """The report's files in `out` (made if missing); the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "compare.json"
    data.write_text(json.dumps(report, indent=2) + "\n")
    svgs = plots.draw(report, out)
    index = out / "index.html"
    index.write_text(page.html(report), encoding="utf-8")
    return [data, *svgs, index]


def table(report: dict) -> Table:
    """Rows of figures, a column per kind; the bare host's only where it has the figure.
    Labels and figures go in as Text, not markup: a label like "[bold]" prints as typed."""
    c, v, h = (kind(report, name) for name in ("container", "vm", "host"))
    t = Table(title="cloudlet compare: a container and a VM on this host", title_justify="left")
    for header in ("", label(report, "container"), label(report, "vm"), label(report, "host")):
        t.add_column(Text(header))
    for what, cell, on_host in ROWS:
        t.add_row(what, Text(cell(c)), Text(cell(v)), Text(cell(h) if on_host else ""))
    return t

"""index.html of a compare report: one self-contained page (no script, no font or style
fetched from anywhere) beside its plots. Every string from the report is escaped: the image
name, the labels and even the kernel names come from what was run."""

from __future__ import annotations

from html import escape

from cloudlet.compare import claims
from cloudlet.compare.figures import DASH, ISOLATION, PERF, iso_text, kind, label, number, perf_text, relative, unit

PLOTS = [("start.svg", "Start times: the cumulative share of runs up to each time, per kind"),
         ("memory.svg", "Idle memory per instance, at each count measured"),
         ("density.svg", "The host's MemAvailable as instances of each kind start"),
         ("perf.svg", "CPU, disk and request figures inside each kind, as a fraction of the bare host's")]
COLUMNS = ("container", "vm", "host")

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.claims td:first-child { font-weight: bold; white-space: nowrap; }
figure { margin: 1.5em 0; }
img { max-width: 100%; border: 1px solid #eee; }
figcaption, .meta { color: #555; }
"""


def html(report: dict) -> str:
    image = escape(str(report.get("image") or DASH))
    parts = [f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
             f'<title>cloudlet compare: {image}</title><style>{CSS}</style></head><body>',
             "<h1>Containers and virtual machines, measured on this host</h1>",
             f'<p class="meta">{escape(_run(report))} · the figures as measured: <a href="compare.json">compare.json</a></p>',
             "<h2>The host</h2>", f"<p>{escape(_host(report))}</p>",
             "<h2>What is usually said, and what was measured</h2>",
             _table(["", "what is usually said", "measured here", "why it came out this way"],
                    [[r.topic, r.usual, r.measured, r.why] for r in claims.rows(report)], "claims"),
             "<h2>Plots</h2>"]
    parts += [f'<figure><img src="{name}" alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption></figure>'
              for name, caption in PLOTS]
    heads = ["", *(label(report, name) for name in COLUMNS)]
    parts += ["<h2>Raw figures</h2>", "<h3>Performance</h3>",
              _table([*heads, *(f"{label(report, name)} ÷ host" for name in COLUMNS[:2])], _perf_rows(report)),
              "<h3>Isolation, as a probe inside saw it</h3>", _table(heads, _isolation_rows(report)),
              "</body></html>\n"]
    return "\n".join(parts)


def _run(report: dict) -> str:
    quick = ", quick (no density run)" if report.get("quick") else ""
    return (f"image {report.get('image') or DASH} · AMI {report.get('ami') or DASH} · "
            f"{number(report.get('runs'))} serial runs, {number(report.get('parallel'))} at a time{quick} · "
            f"started {report.get('started') or DASH}, took {unit(report.get('seconds'), 's')}")


def _host(report: dict) -> str:
    h = report.get("host") or {}
    return (f"CPU {h.get('cpu') or DASH}, {number(h.get('cores'))} cores, {unit(h.get('memory_mib'), 'MiB')} of "
            f"memory, kernel {h.get('kernel') or DASH}. " + claims.accelerator_sentence(report.get("accelerator")))


def _perf_rows(report: dict) -> list[list[str]]:
    rows = []
    for key, what, _, _ in PERF:
        cells = [perf_text(kind(report, name), key) for name in COLUMNS]
        ratios = [relative(report, name, key) for name in COLUMNS[:2]]
        rows.append([what, *cells, *(DASH if r is None else f"{number(r)}× as fast" for r in ratios)])
    return rows


def _isolation_rows(report: dict) -> list[list[str]]:
    rows = [[what, *(iso_text(kind(report, name), key) for name in COLUMNS)] for key, what in ISOLATION]
    devices = [" ".join(map(str, (kind(report, name).get("isolation") or {}).get("devices") or [])) or DASH
               for name in COLUMNS]
    return rows + [["devices in /dev", *devices]]


def _table(head: list[str], rows: list[list[str]], css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    out = [f"<table{cls}><tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out) + "\n</table>"

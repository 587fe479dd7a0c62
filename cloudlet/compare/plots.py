"""The SVG plots of a compare report: start times, idle memory, density and performance
beside the bare host's.

Figures are made with matplotlib's object API (no pyplot: no GUI backend and no global
state, so that a server or a test process can draw them). Text goes into the SVG as glyph
outlines from the DejaVu Sans that matplotlib ships: the plots read the same on any
machine, with no font to install and nothing to fetch. Maths parsing is off because labels
are user-controlled: a "$" in an image name must print, not start TeX."""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from cloudlet.compare.figures import COLOURS, KINDS, PERF, kind, label, number, relative, samples
from cloudlet.compare.stats import cdf

STYLE = {"svg.fonttype": "path", "svg.hashsalt": "cloudlet-compare", "text.parse_math": False, "font.size": 10,
         "axes.grid": True, "grid.alpha": 0.3}
SIZE = (8, 4.5)  # inches: about 770 px wide, the page's column


def draw(report: dict, out: Path) -> list[Path]:
    written = []
    with matplotlib.rc_context(STYLE):
        for name, plot in (("start", start), ("memory", memory), ("density", density), ("perf", perf)):
            fig = Figure(figsize=SIZE, layout="constrained")
            plot(report, fig)
            path = out / f"{name}.svg"
            fig.savefig(path, format="svg", metadata={"Date": None})  # no date: the same report, the same file
            written.append(path)
    return written


def short(text: str, most: int = 40) -> str:
    """A label that fits in a legend, however long the one given."""
    return text if len(text) <= most else text[:most - 1] + "…"


def nothing(fig: Figure, title: str, text: str) -> None:
    fig.suptitle(title)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=14, color="#555555")


def start(report: dict, fig: Figure) -> None:
    title = "Start: from the API call until running and until the first response"
    ax = fig.subplots()
    for name in KINDS:
        k = kind(report, name)
        for key, style, what in (("start_s", "-", "running"), ("first_response_s", "--", "first response")):
            xs = [x for x in samples(k, key) if x > 0]  # a log axis has no room for 0
            if xs:
                x, y = cdf(xs)
                ax.step([x[0], *x], [0, *y], where="post", linestyle=style, color=COLOURS[name], linewidth=2,
                        label=f"{short(label(report, name))}: {what}")
    if not ax.lines:
        fig.delaxes(ax)
        return nothing(fig, title, "no start was measured")
    ax.set_xscale("log")
    # Ticks at 1, 2 and 5 of each decade, labelled plainly (0.2, 1, 5) rather than as powers
    # of ten, which would need maths text: starts often span less than one decade.
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title)
    ax.set_xlabel("seconds after the API call (log scale)")
    ax.set_ylabel("fraction of runs")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower right")


def memory(report: dict, fig: Figure) -> None:
    title = "Idle memory per instance"
    points = {name: {m["count"]: m for m in kind(report, name).get("memory") or [] if m.get("count")}
              for name in KINDS}
    counts = sorted({c for by in points.values() for c in by})
    if not counts:
        return nothing(fig, title, "no idle memory was measured")
    fig.suptitle(title)
    width, axes = 0.8 / len(KINDS), fig.subplots(1, 2)
    for ax, key, what in zip(axes, ("pss_mib", "available_drop_mib"),
                             ("PSS of its processes", "drop of the host's MemAvailable")):
        for i, name in enumerate(KINDS):
            at = [(j, points[name][c][key]) for j, c in enumerate(counts)
                  if c in points[name] and points[name][c].get(key) is not None]
            if at:
                bars = ax.bar([j + (i - 0.5) * width for j, _ in at], [y for _, y in at], width,
                              color=COLOURS[name], label=short(label(report, name)))
                ax.bar_label(bars, labels=[number(y) for _, y in at], fontsize=8)
        ax.set_xticks(range(len(counts)), [str(c) for c in counts])
        ax.set_title(what)
        ax.set_xlabel("instances idle at once")
        ax.set_ylabel("MiB per instance")
    kinds = {text: handle for ax in axes for handle, text in zip(*ax.get_legend_handles_labels())}
    fig.legend(kinds.values(), kinds.keys(), loc="outside lower center", ncols=len(KINDS))


def density(report: dict, fig: Figure) -> None:
    title = "Density: the host's available memory as instances start"
    runs = {name: kind(report, name).get("density") for name in KINDS}
    if not any(runs.values()):
        why = " (a quick run)" if report.get("quick") else ""
        return nothing(fig, title, f"no density run{why}")
    ax = fig.subplots()
    for name, d in runs.items():
        if d and d.get("counts"):
            fit = d.get("extrapolated")
            ax.plot(d["counts"], d.get("available_mib") or [], marker="o", color=COLOURS[name],
                    label=f"{short(label(report, name))}" + (f" (≈{number(fit)} would fit)" if fit else ""))
    ax.set_title(title)
    ax.set_xlabel("instances started")
    ax.set_ylabel("MemAvailable (MiB)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()


def perf(report: dict, fig: Figure) -> None:
    title = "Performance inside, relative to the bare host"
    keys = [(key, what) for key, what, _, _ in PERF if any(relative(report, n, key) for n in KINDS)]
    if not keys:
        return nothing(fig, title, "no figure of the bare host to compare with")
    ax = fig.subplots()
    height = 0.8 / len(KINDS)
    for i, name in enumerate(KINDS):
        at = [(j, relative(report, name, key)) for j, (key, _) in enumerate(keys)]
        at = [(j, r) for j, r in at if r is not None]
        if at:
            bars = ax.barh([j + (i - 0.5) * height for j, _ in at], [r for _, r in at], height,
                           color=COLOURS[name], label=short(label(report, name)))
            ax.bar_label(bars, labels=[f"{number(r)}×" for _, r in at], fontsize=8, padding=2)
    ax.axvline(1, color=COLOURS["host"], linestyle="--", label="bare host")
    ax.set_yticks(range(len(keys)), [what for _, what in keys])
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel("speed as a fraction of the bare host's (1 = as fast, 0.5 = half as fast)")
    ax.margins(x=0.15)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=len(KINDS) + 1)

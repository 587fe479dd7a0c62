"""The output side of `cloudlet compare`: compare.json, the SVG plots, index.html and the
terminal table made from a report dict, including one with hostile strings and one with
every optional figure missing; and the page as headless Chromium draws it."""

import copy
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from rich.console import Console

from cloudlet.compare import report as compare_report
from cloudlet.compare.figures import COLOURS
from cloudlet.compare.stats import cdf, median, percentile
from tests import chromium
from tests.hostcaps import need_binaries

PLOTS = ["start.svg", "memory.svg", "density.svg", "perf.svg"]
TOPICS = ["Boot time", "Memory efficiency", "Density", "Isolation", "Portability and size"]
HOSTILE = "<script>alert(1)</script>"


def isolation(kernel, seccomp, filters, caps, pids, mounts, virtio, devices):
    return {"kernel": kernel, "seccomp": seccomp, "seccomp_filters": filters, "capabilities": caps,
            "pids_visible": pids, "mounts": mounts, "virtio_devices": virtio, "devices": devices}


def perf(cpu, write, read, latency, throughput, iops=(None, None), peer=None):
    """iops: random reads and writes per second; peer: requests per second between two."""
    return {"cpu_s": cpu, "disk_write_mib_s": write, "disk_read_mib_s": read, "rr_latency_ms": latency,
            "throughput_req_s": throughput, "random_read_iops": iops[0], "random_write_iops": iops[1],
            "peer_rr_latency_ms": peer and 1000 / peer, "peer_throughput_req_s": peer}


def instance(label, start, delay, parallel, memory, density, fit, speeds, seen, size):
    """One kind's figures; its first responses come `delay` s after each start, its density
    run is MemAvailable after each start."""
    return {"label": label, "start_s": start, "first_response_s": [x + delay for x in start],
            "parallel_start_s": parallel, "parallel_first_response_s": [x + delay for x in parallel],
            "memory": [{"count": n, "pss_mib": pss, "available_drop_mib": drop} for n, pss, drop in memory],
            "density": {"counts": list(range(len(density))), "available_mib": density, "started": len(density) - 1,
                        "limit": f"--density {len(density) - 1}", "extrapolated": fit},
            "perf": speeds, "isolation": seen, "size_bytes": size}


def sample() -> dict:
    """A run of nginx on a 2-core TCG host, with figures of the size measured there."""
    return {
        "version": 1, "started": "2026-12-03T20:00:00Z", "seconds": 171.2, "image": "nginx",
        "ami": "ami-0123456789abcdef0", "runs": 5, "parallel": 3, "quick": False,
        "host": {"cpu": "AMD EPYC 7B13", "cores": 2, "memory_mib": 24000, "kernel": "6.18.0-cloud"},
        "accelerator": "tcg",
        "kinds": {
            "container": instance("ECS task (runc container)", [0.41, 0.38, 0.45, 0.40, 0.52], 0.05, [0.6, 0.7, 0.8],
                                  [(1, 3.1, 5.2), (4, 2.9, 4.8)], [23000, 22995, 22990, 22986], 4900,
                                  perf(0.2, 800.0, 2000.0, 0.4, 5000.0, (250_000.0, 3000.0), 2500.0),
                                  isolation("6.18.0-cloud", 2, 1, 14, 3, 20, 0, ["null", "zero", "urandom"]),
                                  190_000_000),
            "vm": instance("EC2 instance (QEMU microVM)", [2.1, 1.9, 2.4, 2.0, 2.2], 0.3, [5.1, 5.6, 6.0],
                           [(1, 180.0, 200.0), (4, 170.0, 190.0)], [23000, 22800, 22610, 22430], 121,
                           perf(4.0, 100.0, 500.0, 3.0, 400.0, (20_000.0, 900.0), 500.0),
                           isolation("6.1.0-28-cloud-amd64", 0, 0, 41, 40, 18, 2, ["vda", "ttyS0"]), 420_000_000),
            "host": {"label": "this host, bare", "perf": perf(0.19, 900.0, 2100.0, None, None, (300_000.0, 3500.0)),
                     "isolation": isolation("6.18.0-cloud", 0, 0, 41, 200, 40, 0, ["null", "sda"])},
        },
        "summary": {"host": {"cpu": "AMD EPYC 7B13", "cores": 2, "memory_mib": 24000, "kernel": "6.18.0-cloud"},
                    "accelerator": "tcg",
                    "container": {"start_median_s": 0.41, "first_response_median_s": 0.46, "idle_pss_mib": 2.9,
                                  "density": 4900, "kernel": "6.18.0-cloud"},
                    "vm": {"start_median_s": 2.1, "first_response_median_s": 2.4, "idle_pss_mib": 170.0,
                           "density": 121, "kernel": "6.1.0-28-cloud-amd64"}},
    }


def sparse() -> dict:
    """A quick run where much came back empty: no density run, perf figures missing, no
    parallel starts, no idle memory, a VM that never started."""
    report = sample()
    report["quick"] = True
    for name in ("container", "vm"):
        k = report["kinds"][name]
        k.update(density=None, parallel_start_s=[], parallel_first_response_s=[], memory=[])
        k["perf"] = dict.fromkeys(k["perf"])
    report["kinds"]["vm"].update(start_s=[], first_response_s=[], size_bytes=None)
    report["kinds"]["host"]["perf"] = dict.fromkeys(report["kinds"]["host"]["perf"])
    del report["summary"]
    return report


class Sources(HTMLParser):
    """Every src and href in a page."""

    def __init__(self):
        super().__init__()
        self.links, self.images, self.tags = [], [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for key, value in attrs:
            if key in ("src", "href"):
                self.links.append(value)
                if tag == "img":
                    self.images.append(value)


def page(out) -> tuple[str, Sources]:
    text = (out / "index.html").read_text()
    sources = Sources()
    sources.feed(text)
    return text, sources


def check_svg(path) -> str:
    text = path.read_text()
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg", path
    drawn = [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("path", "text", "use")]
    assert len(drawn) > 10, f"{path.name} draws almost nothing"
    return text


def test_stats():
    assert median([3, 1, 2]) == 2 and median([1, 2, 3, 4]) == 2.5
    xs = [0.5, 0.1, 0.4, 0.2, 0.3, 0.9, 0.8, 0.7, 0.6, 1.0]
    assert percentile(xs, 95) == 1.0 and percentile(xs, 50) == 0.5 and percentile(xs, 0) == 0.1
    assert percentile([7.0], 95) == 7.0
    assert cdf([3, 1, 2]) == ([1, 2, 3], [1 / 3, 2 / 3, 1.0])
    assert median([]) is None and percentile([], 95) is None and cdf([]) == ([], [])


def test_write_files_plots_page_and_json(tmp_path):
    report = sample()
    written = compare_report.write(report, tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in written) == sorted(["compare.json", "index.html", *PLOTS])
    assert json.loads((out / "compare.json").read_text()) == report
    texts = {name: check_svg(out / name) for name in PLOTS}
    # Text is drawn as glyph outlines; matplotlib keeps each string beside them as a comment.
    assert "Start: from the API call" in texts["start.svg"] and "log scale" in texts["start.svg"]
    assert "MiB per instance" in texts["memory.svg"] and "MemAvailable (MiB)" in texts["density.svg"]
    assert "bare host" in texts["perf.svg"]
    for name in ("container", "vm"):
        assert all(f"fill: {COLOURS[name]}" in texts[p] or f"stroke: {COLOURS[name]}" in texts[p] for p in PLOTS)

    text, sources = page(out)
    assert sources.images == PLOTS
    assert all((out / link).is_file() for link in sources.links), sources.links  # all local, no URL
    assert "script" not in sources.tags and "http" not in text
    for topic in TOPICS:
        assert f"<tr><td>{topic}</td>" in text
    for figure in ("0.41 s", "2.10 s", "2.90 MiB", "190 MiB", "≈4,900", "≈121", "6.1.0-28-cloud-amd64",
                   "AMD EPYC 7B13", "24,000 MiB", "181 MiB", "401 MiB", "0.0475× as fast"):
        assert figure in text, figure
    assert "5.1× as long as the container" in text  # 2.1 / 0.41
    assert "39.6× the container" in text  # 190 / 4.8
    assert "under TCG" in text and "Against the usual claim" not in text


def test_claims_say_when_a_figure_contradicts_them(tmp_path):
    report = sample()
    c, v = report["kinds"]["container"], report["kinds"]["vm"]
    c["start_s"], v["start_s"] = [6.0, 7.0, 8.0], [1.0, 1.1, 1.2]  # a slow container, a fast VM
    v["isolation"]["kernel"] = c["isolation"]["kernel"] = "5.10-other"
    v["size_bytes"] = 100_000_000
    compare_report.write(report, tmp_path)
    text, _ = page(tmp_path)
    assert "Against the usual claim, the VM started no slower than the container (1.10 s against 7.00 s)" in text
    assert "The container took 7.00 s, more than the seconds usually quoted." in text
    assert "Against the usual claim, the container saw kernel 5.10-other, not the host&#x27;s 6.18.0-cloud" in text
    assert "the VM&#x27;s root volume took no more bytes than the image" in text


def test_hostile_strings_are_printed_not_run(tmp_path):
    report = sample()
    report["image"] = HOSTILE
    report["ami"] = '"><img src=x onerror=alert(1)>'
    report["kinds"]["container"]["label"] = "$\\frac{1}{$ [bold]red[/bold] <b>x</b> --> " + "long " * 200
    report["kinds"]["vm"]["isolation"]["kernel"] = "</td><script>alert(2)</script>"
    report["kinds"]["vm"]["isolation"]["devices"] = ["<iframe>", 7]
    compare_report.write(report, tmp_path)
    text, sources = page(tmp_path)
    assert HOSTILE not in text and "<script>" not in text and "<iframe>" not in text and "<b>x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;/td&gt;&lt;script&gt;alert(2)" in text
    assert sources.images == PLOTS and "script" not in sources.tags and "iframe" not in sources.tags
    for name in PLOTS:
        check_svg(tmp_path / name)  # a "$" did not start TeX, a "<" did not break the XML
    console = Console(record=True, width=200)
    console.print(compare_report.table(report))
    shown = console.export_text()
    assert "[bold]red[/bold]" in shown and "</td><script>alert(2)</script>" in shown


def test_missing_figures_do_not_break_anything(tmp_path):
    report = sparse()
    original = copy.deepcopy(report)
    compare_report.write(report, tmp_path)
    assert report == original and json.loads((tmp_path / "compare.json").read_text()) == report
    texts = {name: check_svg(tmp_path / name) for name in PLOTS}
    assert "no density run (a quick run)" in texts["density.svg"]
    assert "no idle memory was measured" in texts["memory.svg"]
    assert "no figure of the bare host to compare with" in texts["perf.svg"]
    text, _ = page(tmp_path)
    for topic in TOPICS:
        assert f"<tr><td>{topic}</td>" in text
    assert "The start was not measured for both kinds" in text and "no density run" in text
    console = Console(record=True, width=200)
    console.print(compare_report.table(report))
    shown = console.export_text()
    assert "start median / p95" in shown and "0.41 s / 0.52 s" in shown
    rows = {line.split("│")[1].strip(): line for line in shown.splitlines() if line.count("│") == 5}
    assert rows["density"].count("—") == 2 and rows["CPU loop"].count("—") == 3


def test_terminal_table_has_every_row():
    console = Console(record=True, width=200)
    console.print(compare_report.table(sample()))
    shown = console.export_text()
    for row in ("start median / p95", "first response median / p95", "idle PSS per instance",
                "MemAvailable drop per instance", "density", "kernel", "seccomp mode / filters", "capabilities",
                "PIDs visible", "mounts", "virtio devices", "CPU loop", "disk write / read",
                "random read / write 4 KiB", "requests from host: latency / rate",
                "requests between two: latency / rate", "size"):
        assert row in shown, row
    for figure in ("0.41 s / 0.52 s", "2.10 s / 2.40 s", "2.90 MiB (4 idle)", "3 started, ≈4,900 fit",
                   "800 MiB/s / 2,000 MiB/s", "0.40 ms / 5,000 req/s", "250,000 IOPS / 3,000 IOPS",
                   "2.00 ms / 500 req/s", "this host, bare"):
        assert figure in shown, figure


@pytest.mark.chromium
def test_page_and_plots_render_in_chromium(tmp_path):
    need_binaries(chromium.BINARY)
    out = tmp_path / "out"
    compare_report.write(sample(), out)
    _, sources = page(out)
    assert sources.images == PLOTS and all((out / name).is_file() for name in sources.images)
    shot = chromium.screenshot(out / "index.html", tmp_path / "page.png", tmp_path / "profile")
    shot.assert_drawn()
    # The page's own style has neither colour: only the plots, loaded and drawn, bring them.
    assert shot.has(COLOURS["container"]) and shot.has(COLOURS["vm"]), "the plots were not drawn in the page"
    alone = chromium.screenshot(out / "perf.svg", tmp_path / "perf.png", tmp_path / "profile", size=(800, 460))
    alone.assert_drawn()
    assert alone.has(COLOURS["container"], 2000) and alone.has(COLOURS["vm"], 2000)

"""`show stat` rows read as servers' health and as the counters metrics are made from."""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "other")
_TOTALS = ("FRONTEND", "BACKEND")


@dataclass(frozen=True)
class ServerHealth:
    state: str  # up, down, init (no check result yet), drain, maint
    check: str | None  # the last check's status: L7OK, L7STS, L4CON, L4TOUT, ...
    code: int | None  # the HTTP status the last check got, if any


def health(rows: list[dict[str, str]]) -> dict[tuple[str, str], ServerHealth]:
    out = {}
    for row in rows:
        if row["svname"] in _TOTALS:
            continue
        check = row.get("check_status", "").removeprefix("* ").strip() or None  # "* ": one under way
        code = row.get("check_code", "")
        out[(row["pxname"], row["svname"])] = ServerHealth(_state(row["status"], check), check,
                                                           int(code) if code.isdigit() else None)
    return out


def _state(status: str, check: str | None) -> str:
    if status.startswith("MAINT"):
        return "maint"
    if status in ("DRAIN", "NOLB") or status.startswith("DRAIN"):
        return "drain"
    if check == "INI" or (check is None and status != "no check"):
        return "init"
    return "down" if status.startswith("DOWN") else "up"  # "UP 1/3": still up, going down


def counters(rows: list[dict[str, str]]) -> dict:
    """{"frontends": {name: {...}}, "backends": {name: {...}}}. A backend's responses are split
    into those its servers gave and those the proxy made in their stead (503 with no server up,
    504 on a timeout, ...); a frontend's are all it sent, its own replies and redirects
    (`intercepted`) included."""
    served: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["svname"] not in _TOTALS:
            mine = served.setdefault(row["pxname"], dict.fromkeys(CLASSES, 0))
            for c in CLASSES:
                mine[c] += _int(row, f"hrsp_{c}")
    out: dict[str, dict] = {"frontends": {}, "backends": {}}
    for row in rows:
        base = {"requests": _int(row, "req_tot"), "connections_current": _int(row, "scur"),
                "connections_total": _int(row, "stot"), "bytes_in": _int(row, "bin"), "bytes_out": _int(row, "bout")}
        responses = {c: _int(row, f"hrsp_{c}") for c in CLASSES}
        if row["svname"] == "FRONTEND":
            out["frontends"][row["pxname"]] = base | {"responses": responses, "intercepted": _int(row, "intercepted"),
                                                      "request_errors": _int(row, "ereq")}
        elif row["svname"] == "BACKEND":
            servers = served.get(row["pxname"], dict.fromkeys(CLASSES, 0))
            out["backends"][row["pxname"]] = base | {
                "server_responses": servers,
                "proxy_responses": {c: max(responses[c] - servers[c], 0) for c in CLASSES},
                "response_time_ms": _int(row, "rtime"), "connection_errors": _int(row, "econ"),
                "response_errors": _int(row, "eresp"), "servers_up": _int(row, "act")}
    return out


def _int(row: dict[str, str], column: str) -> int:
    value = row.get(column) or ""
    return int(value) if value.isdigit() else 0

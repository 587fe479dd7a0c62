"""Load balancer and target group attributes: every key AWS has for the kind, with AWS's
default, and what a value may be. An object keeps the whole set in "_attributes"; Modify*
changes the keys it names, checked all before any is kept."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError

from .errors import invalid

BOOL = ("true", "false")


def _number(low: int, high: int):
    return lambda v: v.isdigit() and low <= int(v) <= high, f"an integer from {low} to {high}"


def _one_of(*values: str):
    return lambda v: v in values, "one of " + ", ".join(values)


def _text(limit: int = 1024):
    return lambda v: len(v) <= limit and "\n" not in v, f"a string of at most {limit} characters"


def _percentage():
    return lambda v: v == "off" or (v.isdigit() and 1 <= int(v) <= 100), "off or a percentage"


def _slow_start():
    return lambda v: v.isdigit() and (v == "0" or 30 <= int(v) <= 900), "0 or an integer from 30 to 900"


_B = _one_of(*BOOL)
# key -> (AWS's default, (check, what a value must be))
_LOGS = {"access_logs.s3.enabled": ("false", _B), "access_logs.s3.bucket": ("", _text(255)),
         "access_logs.s3.prefix": ("", _text()), "deletion_protection.enabled": ("false", _B),
         "zonal_shift.config.enabled": ("false", _B)}
LOAD_BALANCER = {
    "application": {**_LOGS, "connection_logs.s3.enabled": ("false", _B),
                    "connection_logs.s3.bucket": ("", _text(255)), "connection_logs.s3.prefix": ("", _text()),
                    "idle_timeout.timeout_seconds": ("60", _number(1, 4000)),
                    "client_keep_alive.seconds": ("3600", _number(60, 604800)),
                    "routing.http.desync_mitigation_mode": ("defensive", _one_of("monitor", "defensive", "strictest")),
                    "routing.http.drop_invalid_header_fields.enabled": ("false", _B),
                    "routing.http.preserve_host_header.enabled": ("false", _B),
                    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": ("false", _B),
                    "routing.http.xff_client_port.enabled": ("false", _B),
                    "routing.http.xff_header_processing.mode": ("append", _one_of("append", "preserve", "remove")),
                    "routing.http2.enabled": ("true", _B), "waf.fail_open.enabled": ("false", _B),
                    "load_balancing.cross_zone.enabled": ("true", _one_of("true"))},
    "network": {**_LOGS, "load_balancing.cross_zone.enabled": ("false", _B),
                "dns_record.client_routing_policy": ("any_availability_zone", _one_of(
                    "any_availability_zone", "availability_zone_affinity", "partial_availability_zone_affinity"))},
}
_HEALTH = {"target_group_health.dns_failover.minimum_healthy_targets.count": ("1", _number(1, 10000)),
           "target_group_health.dns_failover.minimum_healthy_targets.percentage": ("off", _percentage()),
           "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": ("1", _number(1, 10000)),
           "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": ("off", _percentage()),
           "load_balancing.cross_zone.enabled": ("use_load_balancer_configuration", _one_of(
               "true", "false", "use_load_balancer_configuration")),
           "deregistration_delay.timeout_seconds": ("300", _number(0, 3600))}
_HTTP_GROUP = {**_HEALTH, "stickiness.enabled": ("false", _B),
               "stickiness.type": ("lb_cookie", _one_of("lb_cookie", "app_cookie")),
               "stickiness.lb_cookie.duration_seconds": ("86400", _number(1, 604800)),
               "stickiness.app_cookie.cookie_name": ("", _text(255)),
               "stickiness.app_cookie.duration_seconds": ("86400", _number(1, 604800)),
               "slow_start.duration_seconds": ("0", _slow_start()),
               "load_balancing.algorithm.type": ("round_robin", _one_of(
                   "round_robin", "least_outstanding_requests", "weighted_random")),
               "load_balancing.algorithm.anomaly_mitigation": ("off", _one_of("on", "off"))}
_TCP_GROUP = {**_HEALTH, "stickiness.enabled": ("false", _B), "stickiness.type": ("source_ip", _one_of("source_ip")),
              "deregistration_delay.connection_termination.enabled": ("false", _B),
              "proxy_protocol_v2.enabled": ("false", _B), "preserve_client_ip.enabled": ("true", _B),
              "target_health_state.unhealthy.connection_termination.enabled": ("true", _B),
              "target_health_state.unhealthy.draining_interval_seconds": ("0", _number(0, 360000))}


def target_group(protocol: str, target_type: str) -> dict:
    """The attribute table of a group of that protocol and target type."""
    if protocol in ("HTTP", "HTTPS"):
        return _HTTP_GROUP
    table = dict(_TCP_GROUP)
    if target_type == "ip" and protocol in ("TCP", "TLS"):  # AWS keeps the client's address off for these
        table["preserve_client_ip.enabled"] = ("false", _B)
    if protocol in ("UDP", "TCP_UDP"):  # and cannot turn it off for these
        table["preserve_client_ip.enabled"] = ("true", _one_of("true"))
    return table


def defaults(table: dict) -> dict[str, str]:
    return {key: spec[0] for key, spec in table.items()}


def changed(table: dict, current: dict, given: list[dict], what: str) -> dict[str, str]:
    """current with the given [{Key, Value}] applied; a key the kind has not, or a value it
    cannot take, refuses the whole call."""
    out = {**defaults(table), **current}
    for item in given:
        key, value = item.get("Key"), item.get("Value")
        if key not in table:
            raise invalid(f"{what} attribute key '{key}' is not recognized")
        check, wording = table[key][1]
        if not isinstance(value, str) or not check(value):
            if key == "load_balancing.cross_zone.enabled" and what == "Load balancer":
                raise AWSError("InvalidConfigurationRequest",
                               "Cross-zone load balancing cannot be disabled for Application Load Balancers")
            raise invalid(f"{what} attribute '{key}' value '{value}' is not valid: it must be {wording}")
        out[key] = value
    return out

"""Listener and rule actions checked as AWS checks them and normalized as AWS shows them: a
forward names its groups both ways (TargetGroupArn for one group, ForwardConfig always), each
action has its Order, a redirect shows AWS's #{...} defaults. A load balancer of type
network only forwards, to one group.

authenticate-oidc, authenticate-cognito and jwt-validation are refused: cloudlet has no
identity provider to send users to, and an action we cannot run must not be accepted."""

from __future__ import annotations

import re

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records

from .errors import constraint, invalid, within

TERMINAL = ("forward", "redirect", "fixed-response")
MAX_FORWARD_GROUPS = 5
CONTENT_TYPES = ["text/plain", "text/css", "text/html", "application/javascript", "application/json"]
_CONFIGS = {"forward": "ForwardConfig", "redirect": "RedirectConfig", "fixed-response": "FixedResponseConfig",
            "authenticate-oidc": "AuthenticateOidcConfig", "authenticate-cognito": "AuthenticateCognitoConfig",
            "jwt-validation": "JwtValidationConfig"}
# The target group protocols a listener protocol can forward to (AWS's table for NLBs; an ALB's
# HTTP and HTTPS listeners take either, and a lambda group has no protocol at all).
COMPATIBLE = {"HTTP": {"HTTP", "HTTPS", None}, "HTTPS": {"HTTP", "HTTPS", None}, "TCP": {"TCP", "TCP_UDP"},
              "TLS": {"TCP", "TLS"}, "UDP": {"UDP", "TCP_UDP"}, "TCP_UDP": {"TCP_UDP"}}
TARGET_TYPES = {"application": {"instance", "ip", "lambda"}, "network": {"instance", "ip", "alb"}}
REDIRECT_DEFAULTS = {"Protocol": "#{protocol}", "Port": "#{port}", "Host": "#{host}", "Path": "/#{path}",
                     "Query": "#{query}"}
# Which #{...} keywords each part of a redirect may reuse, and the characters it may hold
# besides them (RFC 3986's, never whitespace, quotes, backslashes or '#').
_KEYWORDS = {"Host": ("host",), "Path": ("host", "path", "port"), "Query": ("host", "path", "port", "query")}
_URL_CHARS = {"Host": re.compile(r"[A-Za-z0-9.-]*"), "Path": re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*"),
              "Query": re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _action_error(message: str) -> AWSError:
    return AWSError("InvalidLoadBalancerAction", message)


def _redirect(config: dict, listener_protocol: str) -> dict:
    out = {**REDIRECT_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    if out["Protocol"] not in ("HTTP", "HTTPS", "#{protocol}"):
        raise invalid(f"Redirect protocol '{out['Protocol']}' must be one of 'HTTP, HTTPS, #{{protocol}}'")
    if listener_protocol == "HTTPS" and out["Protocol"] == "HTTP":
        raise invalid("You cannot redirect HTTPS to HTTP")
    if out["Port"] != "#{port}" and not (out["Port"].isdigit() and 1 <= int(out["Port"]) <= 65535):
        raise invalid(f"Redirect port '{out['Port']}' must be a number from 1 to 65535 or #{{port}}")
    if not out["Path"].startswith("/"):
        raise invalid("The redirect path must start with a '/' character")
    if out["Query"].startswith("?"):
        raise invalid("The redirect query must not start with a '?' character")
    for part, keywords in _KEYWORDS.items():
        bare = re.sub("|".join(re.escape("#{" + k + "}") for k in keywords), "", out[part])
        if len(out[part]) > 128 or not _URL_CHARS[part].fullmatch(bare):
            raise invalid(f"The redirect {part.lower()} '{out[part][:128]}' is not valid: it can be up to 128 "
                          f"characters and reuse only {', '.join('#{' + k + '}' for k in keywords)}")
    if all(out[k] == v for k, v in REDIRECT_DEFAULTS.items()):
        raise _action_error("The redirect configuration is not valid because it creates a loop.")
    return out


def _fixed(config: dict, member: str) -> dict:
    if _CONTROL.search(config.get("MessageBody") or ""):  # kept as given otherwise, newlines and all
        raise invalid("The fixed-response message body cannot contain control characters other than tab, "
                      "carriage return and line feed")
    kind = config.get("ContentType")
    if kind is not None and kind not in CONTENT_TYPES:
        raise constraint(f"{member}.fixedResponseConfig.contentType", kind,
                         f"satisfy enum value set: [{', '.join(CONTENT_TYPES)}]")
    return {k: v for k, v in config.items() if v is not None}


def _group(db, lb: dict, listener_protocol: str, arn: str, elsewhere: dict) -> None:
    """Refuse a group the load balancer cannot forward to."""
    group = records.get(db, arn, records.TARGET_GROUP) if isinstance(arn, str) else None
    if group is None:
        raise AWSError("TargetGroupNotFound", f"Target groups '{arn}' not found")
    kind = lb.get("Type", "application")
    if group.get("TargetType") not in TARGET_TYPES.get(kind, set()):
        raise invalid(f"Target group '{arn}' has target type '{group.get('TargetType')}', which a load balancer "
                      f"of type '{kind}' cannot use")
    if group.get("TargetType") != "lambda" and group.get("VpcId") != lb.get("VpcId"):
        raise invalid(f"The target group '{arn}' is not in the same VPC as the load balancer")
    if group.get("Protocol") not in COMPATIBLE.get(listener_protocol, set()):
        raise AWSError("IncompatibleProtocols",
                       f"The listener and its associated target group '{arn}' have incompatible protocols")
    if any(other != lb["LoadBalancerArn"] for other in elsewhere.get(arn, [])):
        raise AWSError("TargetGroupAssociationLimit",
                       f"The following target groups cannot be associated with more than one load balancer: {arn}")


def _forward(db, lb: dict, listener_protocol: str, action: dict, member: str, elsewhere: dict) -> dict:
    single, config = action.get("TargetGroupArn"), action.get("ForwardConfig") or {}
    tuples = config.get("TargetGroups") or []
    if single is None and not tuples:
        raise invalid("A target group ARN must be specified for a forward action")
    if single is not None and tuples and [t.get("TargetGroupArn") for t in tuples] != [single]:
        raise invalid("You cannot specify a target group ARN and a forward config with other target groups")
    tuples = tuples or [{"TargetGroupArn": single}]
    if len(tuples) > MAX_FORWARD_GROUPS:
        raise invalid(f"A forward action can have at most {MAX_FORWARD_GROUPS} target groups")
    if len(tuples) > 1 and lb.get("Type") == "network":
        raise _action_error("A forward action of a network load balancer can have only one target group")
    arns = [t.get("TargetGroupArn") for t in tuples]
    if len(set(arns)) != len(arns):
        raise invalid("A target group can be specified only once in a forward action")
    for i, t in enumerate(tuples, 1):
        within(t.get("Weight"), 0, 999, f"{member}.forwardConfig.targetGroups.{i}.member.weight")
        _group(db, lb, listener_protocol, t.get("TargetGroupArn"), elsewhere)
    sticky = config.get("TargetGroupStickinessConfig") or {}
    if sticky.get("Enabled"):
        if lb.get("Type") == "network":
            raise _action_error("Target group stickiness is not supported by network load balancers")
        if sticky.get("DurationSeconds") is None:
            raise invalid("A stickiness duration must be specified when target group stickiness is enabled")
        within(sticky["DurationSeconds"], 1, 604800, f"{member}.forwardConfig.targetGroupStickinessConfig"
                                                     ".durationSeconds")
        sticky = {"Enabled": True, "DurationSeconds": sticky["DurationSeconds"]}
    else:
        sticky = {"Enabled": False}
    out = {"ForwardConfig": {"TargetGroups": [{"TargetGroupArn": t["TargetGroupArn"],
                                               "Weight": 1 if t.get("Weight") is None else t["Weight"]}
                                              for t in tuples],
                             "TargetGroupStickinessConfig": sticky}}
    if len(tuples) == 1:
        out["TargetGroupArn"] = tuples[0]["TargetGroupArn"]
    return out


def _one(db, lb, listener_protocol, action, member, elsewhere) -> dict:
    kind = action["Type"]
    if kind not in TERMINAL:
        raise invalid(f"Action type '{kind}' is not supported: cloudlet has no identity provider to authenticate "
                      f"or validate tokens against")
    if lb.get("Type") == "network" and kind != "forward":
        raise _action_error(f"Action type '{kind}' is not supported by network load balancers: they only forward")
    for other, key in _CONFIGS.items():
        if other != kind and action.get(key) is not None:
            raise invalid(f"'{key}' can be specified only for an action of type '{other}'")
    if kind != "forward" and action.get("TargetGroupArn") is not None:
        raise invalid("A target group ARN can be specified only for an action of type 'forward'")
    if kind == "forward":
        body = _forward(db, lb, listener_protocol, action, member, elsewhere)
    elif kind == "redirect":
        if not action.get("RedirectConfig"):
            raise invalid("A redirect action must have a redirect config")
        body = {"RedirectConfig": _redirect(action["RedirectConfig"], listener_protocol)}
    else:
        if not action.get("FixedResponseConfig"):
            raise invalid("A fixed-response action must have a fixed-response config")
        body = {"FixedResponseConfig": _fixed(action["FixedResponseConfig"], member)}
    return {"Type": kind, **body, "Order": action.get("Order") or 1}


def checked(db, lb: dict, listener_protocol: str, actions: list[dict], member: str, elsewhere: dict) -> list[dict]:
    """The actions as AWS shows them, or AWS's refusal. member names them in messages
    ('defaultActions', 'actions'); elsewhere is users.load_balancers_of(db)."""
    if not actions:
        raise invalid("At least one action must be specified")
    orders = [a.get("Order") for a in actions]
    if len(actions) > 1 and (None in orders or len(set(orders)) != len(orders)):
        raise invalid("Each action must have a unique order when a rule has more than one action")
    out = [_one(db, lb, listener_protocol, a, f"{member}.{i}.member", elsewhere) for i, a in enumerate(actions, 1)]
    if sum(a["Type"] in TERMINAL for a in out) != 1:
        raise invalid("A rule can have only one of the following actions: 'forward', 'redirect', 'fixed-response'")
    return sorted(out, key=lambda a: a["Order"])


def groups_of(actions: list[dict]) -> list[str]:
    """The target groups the actions forward to."""
    return [t["TargetGroupArn"] for a in actions if a.get("Type") == "forward"
            for t in (a.get("ForwardConfig") or {}).get("TargetGroups") or []]

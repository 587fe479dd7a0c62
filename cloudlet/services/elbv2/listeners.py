"""Listeners: CreateListener, DescribeListeners, ModifyListener, DeleteListener, their
certificates and attributes, and DescribeSSLPolicies. A listener is recorded with its default
rule (AWS makes one per listener, whose actions are the listener's DefaultActions); the load
balancers' controller (control/elb.py) makes its proxy serve them."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records
from cloudlet.store.elbv2 import load_balancers_of

from . import actions, listener_spec, ssl_policies
from .errors import find, invalid, within
from .paging import listed, page

MAX_LISTENERS = 50  # AWS's quota per load balancer
MAX_CERTIFICATES = 25  # AWS's quota per listener, its default certificate not counted
# A listener's attributes by protocol, with AWS's defaults; (low, high) for a number.
_ATTRIBUTES = {"HTTP": {"routing.http.response.server.enabled": "true"},
               "HTTPS": {"routing.http.response.server.enabled": "true"},
               "TCP": {"tcp.idle_timeout.seconds": "350"}}
_RANGES = {"tcp.idle_timeout.seconds": (60, 6000)}


def _settings(db, lb: dict, request: dict, old: dict | None = None) -> dict:
    """The listener's settings as Describe shows them (ARNs aside), from a Create or Modify call."""
    old = old or {}
    protocol = listener_spec.protocol_of(lb, request.get("Protocol") or old.get("Protocol"))
    port = listener_spec.port_of(request.get("Port") or old.get("Port"))
    listener_spec.refuse_mutual_authentication(request)
    given = request.get("DefaultActions")
    if given is None:  # a ModifyListener that changes the protocol checks the old actions against it
        given = old["DefaultActions"]
    default_actions = actions.checked(db, lb, protocol, given, "defaultActions", load_balancers_of(db))
    return {"Port": port, "Protocol": protocol, **listener_spec.security(db, protocol, request, old),
            "DefaultActions": default_actions}


def _same(listener: dict, settings: dict) -> bool:
    return all(listener.get(k) == settings.get(k) for k in ("Protocol", "Certificates", "SslPolicy",
                                                             "DefaultActions", "AlpnPolicy"))


def _duplicate(lb: dict) -> AWSError:
    return AWSError("DuplicateListener", f"A listener already exists on this port for this load balancer "
                                         f"'{lb['LoadBalancerArn']}'")


def _on_port(db, lb_arn: str, port: int) -> dict | None:
    return next((x for x in records.objects_of(db, records.LISTENER, lb_arn) if x["Port"] == port), None)


def _attributes(protocol: str, old: dict | None) -> dict:
    """The attributes a listener of that protocol has: AWS's defaults, or what was set before."""
    return {k: (old or {}).get(k, v) for k, v in _ATTRIBUTES.get(protocol, {}).items()}


def _certificates(listener: dict) -> list[dict]:
    default = [{"CertificateArn": c["CertificateArn"], "IsDefault": True} for c in listener.get("Certificates") or []]
    return default + [{"CertificateArn": a, "IsDefault": False} for a in listener.get("_certificates", [])]


def _secure_listener(db, arn: str) -> dict:
    listener = find(db, records.LISTENER, arn)
    if listener["Protocol"] not in listener_spec.SECURE:
        raise invalid(f"Certificates can be used only by listeners of protocol HTTPS or TLS, not "
                      f"'{listener['Protocol']}'")
    return listener


class Listeners:
    def create_listener(self, ctx, request):
        tags = listener_spec.tags_given(request.get("Tags"))
        with ctx.write() as db:
            lb = find(db, records.LOAD_BALANCER, request["LoadBalancerArn"])
            settings = _settings(db, lb, request)
            taken = _on_port(db, lb["LoadBalancerArn"], settings["Port"])
            if taken is not None:
                if _same(taken, settings):  # AWS's idempotency: the same listener again is the one there
                    return {"Listeners": [records.public(taken)]}
                raise _duplicate(lb)
            if records.count(db, records.LISTENER, lb["LoadBalancerArn"]) >= MAX_LISTENERS:
                raise AWSError("TooManyListeners", f"You've reached the limit on the number of listeners per load "
                                                   f"balancer ({MAX_LISTENERS})")
            listener = {"ListenerArn": listener_spec.new_arn(lb["LoadBalancerArn"]),
                        "LoadBalancerArn": lb["LoadBalancerArn"], **settings,
                        "_tags": tags, "_attributes": _attributes(settings["Protocol"], None)}
            listener_spec.save(db, listener)
            listener_spec.save_default_rule(db, listener)
        self.wake_controller()
        return {"Listeners": [records.public(listener)]}

    def describe_listeners(self, ctx, request):
        with ctx.read() as db:
            found = listed(db, records.LISTENER, request.get("ListenerArns"), records.LOAD_BALANCER,
                           request.get("LoadBalancerArn"))
        return page([records.public(x) for x in found], lambda x: (x["LoadBalancerArn"], x["Port"], x["ListenerArn"]),
                    request, "Listeners")

    def modify_listener(self, ctx, request):
        with ctx.write() as db:
            old = find(db, records.LISTENER, request["ListenerArn"])
            lb = find(db, records.LOAD_BALANCER, old["LoadBalancerArn"])
            settings = _settings(db, lb, request, old)
            taken = _on_port(db, lb["LoadBalancerArn"], settings["Port"])
            if taken is not None and taken["ListenerArn"] != old["ListenerArn"]:
                raise _duplicate(lb)
            listener = {k: v for k, v in old.items() if k not in ("Certificates", "SslPolicy", "AlpnPolicy")}
            listener.update(settings, _attributes=_attributes(settings["Protocol"], old.get("_attributes")))
            if settings["Protocol"] not in listener_spec.SECURE:
                listener.pop("_certificates", None)
            listener_spec.save(db, listener)
            listener_spec.save_default_rule(db, listener)
        self.wake_controller()
        return {"Listeners": [records.public(listener)]}

    def delete_listener(self, ctx, request):
        with ctx.write() as db:
            find(db, records.LISTENER, request["ListenerArn"])
            records.delete(db, request["ListenerArn"])  # its rules go with it
        self.wake_controller()
        return {}

    def add_listener_certificates(self, ctx, request):
        with ctx.write() as db:
            listener = _secure_listener(db, request["ListenerArn"])
            added = [listener_spec.certificate(db, c.get("CertificateArn")) for c in request["Certificates"]]
            default = listener["Certificates"][0]["CertificateArn"]
            extra = list(dict.fromkeys(listener.get("_certificates", []) + [a for a in added if a != default]))
            if len(extra) > MAX_CERTIFICATES:
                raise AWSError("TooManyCertificates", f"You've reached the limit on the number of certificates per "
                                                      f"listener ({MAX_CERTIFICATES})")
            listener["_certificates"] = extra
            listener_spec.save(db, listener)
        self.wake_controller()
        return {"Certificates": [{"CertificateArn": a, "IsDefault": a == default} for a in dict.fromkeys(added)]}

    def remove_listener_certificates(self, ctx, request):
        with ctx.write() as db:
            listener = _secure_listener(db, request["ListenerArn"])
            gone = {c.get("CertificateArn") for c in request["Certificates"]}
            if listener["Certificates"][0]["CertificateArn"] in gone:
                raise AWSError("OperationNotPermitted", "The default certificate of a listener cannot be removed; "
                                                        "change it with ModifyListener")
            listener["_certificates"] = [a for a in listener.get("_certificates", []) if a not in gone]
            listener_spec.save(db, listener)
        self.wake_controller()
        return {}

    def describe_listener_certificates(self, ctx, request):
        with ctx.read() as db:
            listener = find(db, records.LISTENER, request["ListenerArn"])
        shown = _certificates(listener)
        return page(shown, lambda c: (not c["IsDefault"], c["CertificateArn"]), request, "Certificates")

    def describe_listener_attributes(self, ctx, request):
        with ctx.read() as db:
            listener = find(db, records.LISTENER, request["ListenerArn"])
        return {"Attributes": [{"Key": k, "Value": v} for k, v in _attributes(listener["Protocol"],
                                                                               listener.get("_attributes")).items()]}

    def modify_listener_attributes(self, ctx, request):
        with ctx.write() as db:
            listener = find(db, records.LISTENER, request["ListenerArn"])
            current = _attributes(listener["Protocol"], listener.get("_attributes"))
            for pair in request["Attributes"]:
                key, value = pair.get("Key"), pair.get("Value")
                if key not in current:
                    raise invalid(f"Listener attribute '{key}' is not supported for listeners of protocol "
                                  f"'{listener['Protocol']}'; supported: {', '.join(current) or 'none'}")
                if key in _RANGES:
                    if not (value or "").isdigit():
                        raise invalid(f"Listener attribute '{key}' must be a whole number of seconds")
                    within(int(value), *_RANGES[key], key)
                elif value not in ("true", "false"):
                    raise invalid(f"Listener attribute '{key}' must be 'true' or 'false'")
                current[key] = value
            listener["_attributes"] = current
            listener_spec.save(db, listener)
        self.wake_controller()
        return {"Attributes": [{"Key": k, "Value": v} for k, v in current.items()]}

    def describe_ssl_policies(self, ctx, request):
        policies = ssl_policies.described(request.get("Names"), request.get("LoadBalancerType"))
        return page(policies, lambda p: list(ssl_policies.POLICIES).index(p["Name"]), request, "SslPolicies")

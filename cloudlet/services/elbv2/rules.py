"""Listener rules: CreateRule, ModifyRule, DeleteRule, DescribeRules and SetRulePriorities.
Only an application load balancer's listeners have rules besides their default rule, which
is the listener's DefaultActions kept in step (ModifyRule on it changes the listener too) and
can be neither deleted, moved nor given conditions."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records
from cloudlet.store.elbv2 import load_balancers_of

from . import actions, conditions, listener_spec
from .errors import find, invalid
from .paging import listed, page

MAX_RULES = 100  # AWS's quota per application load balancer, default rules not counted


def _name(priority: int) -> str:
    """The rule's name column: its priority, padded so that names sort as numbers do ("default" after)."""
    return f"{priority:05d}"


def _save(db, rule: dict, listener_arn: str) -> None:
    name = "default" if rule["IsDefault"] else _name(int(rule["Priority"]))
    records.put(db, records.RULE, rule["RuleArn"], name, rule, parent=listener_arn)


def _in_use(priority: int) -> AWSError:
    return AWSError("PriorityInUse", f"Priority '{priority}' is currently in use")


def _refuse_transforms(request: dict) -> None:
    if request.get("Transforms"):
        raise invalid("Rule transforms are not supported")


def _listener_of(db, rule_arn: str) -> tuple[dict, dict]:
    """(the rule, its listener)."""
    rule = find(db, records.RULE, rule_arn)
    return rule, find(db, records.LISTENER, listener_spec.listener_of_rule(rule_arn))


def _lb_of(db, listener: dict) -> dict:
    lb = find(db, records.LOAD_BALANCER, listener["LoadBalancerArn"])
    if lb.get("Type") != "application":
        raise invalid(f"Rules can be added only to listeners of application load balancers, not of type "
                      f"'{lb.get('Type')}'")
    return lb


def _rules_of_lb(db, lb_arn: str) -> int:
    return sum(1 for listener in records.objects_of(db, records.LISTENER, lb_arn)
               for r in records.objects_of(db, records.RULE, listener["ListenerArn"]) if not r["IsDefault"])


def _ordered(rule: dict):
    """Rules by priority, each listener's default rule last."""
    return (rule["IsDefault"], 0 if rule["IsDefault"] else int(rule["Priority"]), rule["RuleArn"])


class Rules:
    def create_rule(self, ctx, request):
        _refuse_transforms(request)
        tags = listener_spec.tags_given(request.get("Tags"))
        shown_conditions = conditions.checked(request["Conditions"])
        priority = request["Priority"]
        with ctx.write() as db:
            listener = find(db, records.LISTENER, request["ListenerArn"])
            lb = _lb_of(db, listener)
            rules = records.objects_of(db, records.RULE, listener["ListenerArn"])
            if any(r["Priority"] == str(priority) for r in rules):
                raise _in_use(priority)
            if _rules_of_lb(db, lb["LoadBalancerArn"]) >= MAX_RULES:
                raise AWSError("TooManyRules", f"You've reached the limit on the number of rules per load balancer "
                                               f"({MAX_RULES})")
            rule = {"RuleArn": listener_spec.rule_arn(listener["ListenerArn"]), "Priority": str(priority),
                    "Conditions": shown_conditions,
                    "Actions": actions.checked(db, lb, listener["Protocol"], request["Actions"], "actions",
                                               load_balancers_of(db)),
                    "IsDefault": False, "_tags": tags}
            _save(db, rule, listener["ListenerArn"])
        self.wake_controller()
        return {"Rules": [records.public(rule)]}

    def modify_rule(self, ctx, request):
        _refuse_transforms(request)
        given_conditions, given_actions = request.get("Conditions"), request.get("Actions")
        with ctx.write() as db:
            rule, listener = _listener_of(db, request["RuleArn"])
            lb = find(db, records.LOAD_BALANCER, listener["LoadBalancerArn"])
            if rule["IsDefault"] and given_conditions:
                raise AWSError("OperationNotPermitted", "The default rule of a listener cannot have conditions")
            if given_conditions is not None and not rule["IsDefault"]:
                rule["Conditions"] = conditions.checked(given_conditions)
            if given_actions is not None:
                rule["Actions"] = actions.checked(db, lb, listener["Protocol"], given_actions, "actions",
                                                  load_balancers_of(db))
            _save(db, rule, listener["ListenerArn"])
            if rule["IsDefault"]:  # the listener's DefaultActions are this rule's actions
                listener["DefaultActions"] = rule["Actions"]
                listener_spec.save(db, listener)
        self.wake_controller()
        return {"Rules": [records.public(rule)]}

    def delete_rule(self, ctx, request):
        with ctx.write() as db:
            rule = find(db, records.RULE, request["RuleArn"])
            if rule["IsDefault"]:
                raise AWSError("OperationNotPermitted", "The default rule of a listener cannot be deleted")
            records.delete(db, rule["RuleArn"])
        self.wake_controller()
        return {}

    def describe_rules(self, ctx, request):
        with ctx.read() as db:
            found = listed(db, records.RULE, request.get("RuleArns"), records.LISTENER, request.get("ListenerArn"))
        return page([records.public(r) for r in found], _ordered, request, "Rules")

    def set_rule_priorities(self, ctx, request):
        pairs = request["RulePriorities"]
        priorities = [p.get("Priority") for p in pairs]
        for value in priorities:
            if priorities.count(value) > 1:
                raise invalid(f"Priority '{value}' was provided multiple times")
        with ctx.write() as db:
            moved = {}  # rule ARN -> (rule, its listener's ARN)
            for pair in pairs:
                rule, listener = _listener_of(db, pair.get("RuleArn"))
                if rule["IsDefault"]:
                    raise AWSError("OperationNotPermitted", "The priority of a listener's default rule cannot be "
                                                            "changed")
                rule["Priority"] = str(pair["Priority"])
                moved[rule["RuleArn"]] = (rule, listener["ListenerArn"])
            for listener_arn in {arn for _, arn in moved.values()}:  # all moves are checked before any is written
                kept = [r for r in records.objects_of(db, records.RULE, listener_arn) if r["RuleArn"] not in moved]
                taken = {r["Priority"] for r in kept}
                for rule, arn in moved.values():
                    if arn == listener_arn and rule["Priority"] in taken:
                        raise _in_use(rule["Priority"])
            for rule, listener_arn in moved.values():
                _save(db, rule, listener_arn)
        self.wake_controller()
        return {"Rules": sorted((records.public(r) for r, _ in moved.values()), key=_ordered)}

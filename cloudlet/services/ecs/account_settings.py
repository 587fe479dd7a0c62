"""ECS account settings, per region: a principal's own setting, else the root user's (which
PutAccountSettingDefault sets, for everyone without one of their own), else AWS's default.

Principals are the account's root and its users (cloudlet has no roles or federated users).
"""

from sqlalchemy import select

from cloudlet.services.common import pagination
from cloudlet.store.schema import access_keys
from cloudlet.store.schema import ecs_account_settings as table

from .common import invalid

_ON_OFF, _ENABLED = ("on", "off"), ("enabled", "disabled")

# name -> (the values it takes, AWS's default for an account that set nothing)
SETTINGS = {
    "awsvpcTrunking": (_ENABLED, "disabled"),
    "containerInsights": (("enabled", "disabled", "enhanced"), "disabled"),
    "containerInstanceLongArnFormat": (("enabled",), "enabled"),
    "defaultLogDriverMode": (("blocking", "non-blocking"), "non-blocking"),
    "fargateEventWindows": (_ENABLED, "disabled"),
    "fargateFIPSMode": (_ENABLED, "disabled"),
    "fargateTaskRetirementWaitPeriod": (("0", "7", "14"), "7"),
    "guardDutyActivate": (_ON_OFF, "off"),
    "serviceLongArnFormat": (("enabled",), "enabled"),
    "tagResourceAuthorization": (_ON_OFF, "on"),
    "taskLongArnFormat": (("enabled",), "enabled"),
}
_AWS_MANAGED = {"guardDutyActivate"}  # GuardDuty sets it; read-only here as in ECS
_ROOT_ONLY = {"fargateTaskRetirementWaitPeriod"}
MAX_RESULTS = 10


def root_of(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def _principal(ctx, db, given: str | None) -> str:
    """The principal a request is about: the caller unless it names the root user or another user
    of this account (all of whom may act for one another, there being no IAM policies here)."""
    if given is None:
        return ctx.caller_arn
    if given == root_of(ctx.account_id):
        return given
    users = db.conn.execute(select(access_keys.c.user_name).where(access_keys.c.account_id == ctx.account_id))
    if given in {f"arn:aws:iam::{ctx.account_id}:user/{row.user_name}" for row in users}:
        return given
    raise invalid(f"principalArn '{given[:2048]}' is neither the root user nor a user of account {ctx.account_id}.")


def _explicit(db, principal: str) -> dict[str, str]:
    return {r["name"]: r["value"] for r in db.select(table, table.c.principal_arn == principal)}


def _setting(name: str, value: str, principal: str) -> dict:
    return {"name": name, "value": value, "principalArn": principal,
            "type": "aws_managed" if name in _AWS_MANAGED else "user"}


def effective(db, principal: str, name: str) -> dict:
    """The setting that applies to `principal`: its own, the root user's, or AWS's default (reported
    as the root user's, as ECS reports it)."""
    own = _explicit(db, principal).get(name)
    if own is not None:
        return _setting(name, own, principal)
    root = root_of(db.account_id)
    return _setting(name, _explicit(db, root).get(name, SETTINGS[name][1]), root)


def _writable(name: str, principal: str, account_id: str) -> None:
    if name in _AWS_MANAGED:
        raise invalid(f"{name} is managed by AWS (Amazon GuardDuty) and can't be changed.")
    if name in _ROOT_ONLY and principal != root_of(account_id):
        raise invalid(f"{name} can only be set for the root user (principalArn {root_of(account_id)}).")


def _put(ctx, db, name: str, value: str, principal: str) -> dict:
    _writable(name, principal, ctx.account_id)
    values = SETTINGS[name][0]
    if value not in values:
        raise invalid(f"Invalid value '{value[:256]}' for {name}: it takes {', '.join(values)}.")
    where = (table.c.principal_arn == principal, table.c.name == name)
    if not db.update(table, *where, value=value):
        db.insert(table, principal_arn=principal, name=name, value=value)
    return {"setting": _setting(name, value, principal)}


class AccountSettings:
    def put_account_setting(self, ctx, request):
        with ctx.write() as db:
            return _put(ctx, db, request["name"], request["value"], _principal(ctx, db, request.get("principalArn")))

    def put_account_setting_default(self, ctx, request):
        with ctx.write() as db:
            return _put(ctx, db, request["name"], request["value"], root_of(ctx.account_id))

    def delete_account_setting(self, ctx, request):
        name = request["name"]
        with ctx.write() as db:
            principal = _principal(ctx, db, request.get("principalArn"))
            _writable(name, principal, ctx.account_id)
            own = _explicit(db, principal).get(name)
            db.delete(table, table.c.principal_arn == principal, table.c.name == name)
            # what was deleted; with nothing to delete, what applies (unchanged)
            return {"setting": _setting(name, own, principal) if own is not None else effective(db, principal, name)}

    def list_account_settings(self, ctx, request):
        name, value = request.get("name"), request.get("value")
        if value is not None and name is None:
            raise invalid("value can only be given with a setting name.")
        with ctx.read() as db:
            principal = _principal(ctx, db, request.get("principalArn"))
            names = [name] if name else sorted(SETTINGS)
            if request.get("effectiveSettings"):
                settings = [effective(db, principal, n) for n in names]
            else:
                own = _explicit(db, principal)
                settings = [_setting(n, own[n], principal) for n in names if n in own]
        settings = [s for s in settings if value is None or s["value"] == value]
        page, token = pagination.page(settings, lambda s: s["name"], request.get("nextToken"),
                                      request.get("maxResults"), default=MAX_RESULTS, maximum=MAX_RESULTS,
                                      bad_token=lambda t: invalid("The specified nextToken is invalid."),
                                      bad_max=lambda n: invalid(f"maxResults must be between 1 and {MAX_RESULTS}."))
        return {"settings": page, "nextToken": token}

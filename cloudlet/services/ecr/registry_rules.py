"""What ECR checks in a registry's replication and scanning configurations beyond the model
(which has already held them to its lengths, patterns and enums), and which repositories a
scanning rule's filters pick."""

from botocore.loaders import Loader

from cloudlet.edge.errors import AWSError

MAX_REPLICATION_RULES = 10  # ECR's quota; the model allows 25
MAX_DESTINATIONS = 25  # per rule; the model allows 100
# Scan frequencies each scan type takes: basic scanning is on push or by hand, enhanced
# (Amazon Inspector) continuous or on push.
FREQUENCIES = {"BASIC": ("SCAN_ON_PUSH", "MANUAL"), "ENHANCED": ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")}
# Frequencies under which a push starts a scan (continuous scanning begins with one).
_ON_PUSH = ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")
_REGIONS = frozenset(name for partition in Loader().load_data("endpoints")["partitions"]
                     for name in partition["regions"])


def _invalid(member: str, why: str) -> AWSError:
    return AWSError("InvalidParameterException", f"Invalid parameter at '{member}' failed to satisfy "
                    f"constraint: '{why}'")


def check_replication(ctx, config: dict) -> None:
    rules = config["rules"]
    if len(rules) > MAX_REPLICATION_RULES:
        raise _invalid("replicationConfiguration", f"a replication configuration can have at most "
                       f"{MAX_REPLICATION_RULES} rules")
    for rule in rules:
        destinations = [(d["region"], d["registryId"]) for d in rule["destinations"]]
        if not destinations:
            raise _invalid("destinations", "a replication rule needs at least one destination")
        if len(set(destinations)) != len(destinations):
            raise _invalid("destinations", "a replication rule lists the same destination more than once")
        if len(destinations) > MAX_DESTINATIONS:
            raise _invalid("destinations", f"a replication rule can have at most {MAX_DESTINATIONS} destinations")
        for region, registry in destinations:
            if region not in _REGIONS:
                raise _invalid("region", f"'{region}' is not a valid region")
            if (region, registry) == (ctx.region, ctx.account_id):
                raise _invalid("destinations", "a registry cannot replicate to itself in its own region")


def check_scanning(scan_type: str, rules: list[dict]) -> None:
    seen = set()
    for rule in rules:
        frequency = rule["scanFrequency"]
        if frequency not in FREQUENCIES[scan_type]:
            raise _invalid("scanFrequency", f"scan frequency {frequency} is not supported with scan type "
                           f"{scan_type} (supported: {', '.join(FREQUENCIES[scan_type])})")
        if frequency in seen:
            raise _invalid("rules", f"more than one rule has scan frequency {frequency}")
        seen.add(frequency)


def _matches(pattern: str, name: str) -> bool:
    """ECR's filters: one without a wildcard picks names that contain it; '*' stands for any run
    of characters in a pattern that must match the whole name."""
    if "*" not in pattern:
        return pattern in name
    # Leftmost matches of the parts between wildcards, in turn: linear, where a regular
    # expression of many wildcards backtracks for ages on a name that does not match.
    head, *middle, tail = pattern.split("*")
    end = len(name) - len(tail)
    if end < len(head) or not name.startswith(head) or not name.endswith(tail):
        return False
    at = len(head)
    for part in middle:
        at = name.find(part, at, end)
        if at < 0:
            return False
        at += len(part)
    return True


def scans_on_push(config: dict, repository: str) -> bool:
    """Whether the registry's scanning configuration scans images pushed to repository."""
    return any(rule["scanFrequency"] in _ON_PUSH and any(_matches(f["filter"], repository)
                                                        for f in rule["repositoryFilters"])
               for rule in config["rules"])

"""Walks between result/request dicts and model shapes, shared by the protocols."""


def member_key(member, name: str) -> str:
    """The element/key name of a structure member in XML and query strings (botocore's rule:
    a flattened list is named after its member)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        listed = member.member.serialization.get("name")
        if listed is not None:
            return listed
    return member.serialization.get("name", name)


def present(shape, value: dict):
    """(name, member shape, value) of the structure's members set in `value`."""
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            yield name, member, item


def convert(shape, value, scalar):
    """`value` with every scalar replaced by scalar(type_name, value), following `shape`.
    Values of the wrong container type are kept as they are for validation to report."""
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(value, dict):
            return value
        return {name: convert(member, value[key], scalar)
                for name, member in shape.members.items()
                if (key := member.serialization.get("name", name)) in value and value[key] is not None}
    if type_name == "list":
        return [convert(shape.member, item, scalar) for item in value] if isinstance(value, list) else value
    if type_name == "map":
        if not isinstance(value, dict):
            return value
        return {key: convert(shape.value, item, scalar) for key, item in value.items()}
    return scalar(type_name, value)


def output(shape, value, scalar):
    """A provider's result as wire values: only the shape's members, keyed by wire name."""
    type_name = shape.type_name
    if type_name == "structure":
        return {member.serialization.get("name", name): output(member, item, scalar)
                for name, member, item in present(shape, value)}
    if type_name == "list":
        return [output(shape.member, item, scalar) for item in value]
    if type_name == "map":
        return {key: output(shape.value, item, scalar) for key, item in value.items()}
    return scalar(type_name, value)

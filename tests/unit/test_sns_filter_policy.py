"""SNS filter policies: what SNS refuses when a policy is set, and which messages a policy lets
through, with the examples of AWS's filter policy pages."""

import json

import pytest

from cloudlet.services.sns import filter_policy as fp


def attrs(**values) -> dict:
    """MessageAttributes as Publish takes them: str -> String, number -> Number, list -> String.Array."""
    out = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        elif isinstance(value, (int, float)):
            out[name] = {"DataType": "Number", "StringValue": str(value)}
        elif isinstance(value, bytes):
            out[name] = {"DataType": "Binary", "BinaryValue": value}
        else:
            out[name] = {"DataType": "String", "StringValue": value}
    return out


def passes(policy: dict, **values) -> bool:
    return fp.matches_attributes(fp.parse(json.dumps(policy), "MessageAttributes"), attrs(**values))


def test_exact_strings_are_anded_across_keys_and_ored_within_one():
    policy = {"store": ["example_corp"], "event": ["order_placed", "order_cancelled"]}
    assert passes(policy, store="example_corp", event="order_cancelled")
    assert not passes(policy, store="example_corp", event="order_shipped")
    assert not passes(policy, store="Example_Corp", event="order_placed")  # case-sensitive
    assert not passes(policy, event="order_placed")  # a key the message lacks fails the policy
    assert passes(policy, store="example_corp", event="order_placed", extra="anything")


def test_numbers_match_by_value_and_type():
    assert passes({"price_usd": [301.5]}, price_usd=301.5)
    assert fp.matches_attributes(fp.parse('{"price_usd": [301.5]}', "MessageAttributes"),
                                 {"price_usd": {"DataType": "Number", "StringValue": "3.015e2"}})
    assert passes({"price_usd": [301.5]}, price_usd=301.500001)  # five decimal places count
    assert not passes({"price_usd": [301.5]}, price_usd=301.51)
    assert not passes({"price_usd": [301.5]}, price_usd="301.5")  # a String is not a Number
    assert not passes({"code": ["10"]}, code=10)


def test_numeric_ranges():
    policy = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}
    assert passes(policy, price_usd=150) and passes(policy, price_usd=0.01)
    assert not passes(policy, price_usd=0) and not passes(policy, price_usd=150.5)
    assert passes({"n": [{"numeric": ["=", 3]}]}, n=3.0)
    assert not passes({"n": [{"numeric": [">=", 10]}]}, n="12")


def test_prefix_suffix_and_case():
    assert passes({"customer_interests": [{"prefix": "bas"}]}, customer_interests="baseball")
    assert not passes({"customer_interests": [{"prefix": "bas"}]}, customer_interests="rugby")
    assert passes({"f": [{"suffix": ".png"}]}, f="image.png")
    assert passes({"e": [{"equals-ignore-case": "ORDER"}]}, e="Order")


def test_anything_but():
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert passes(policy, customer_interests="baseball")
    assert not passes(policy, customer_interests="rugby")
    assert not passes(policy)  # absent: nothing to be other than
    assert passes({"price": [{"anything-but": [100, 500]}]}, price=101)
    assert not passes({"price": [{"anything-but": 100}]}, price=100)
    assert passes({"e": [{"anything-but": {"prefix": "order-"}}]}, e="invoice-1")
    assert not passes({"e": [{"anything-but": {"prefix": "order-"}}]}, e="order-1")


def test_exists():
    assert passes({"store": [{"exists": True}]}, store="x")
    assert not passes({"store": [{"exists": True}]}, other="x")
    assert passes({"store": [{"exists": False}]}, other="x")
    assert not passes({"store": [{"exists": False}]}, store="x")
    assert passes({"blob": [{"exists": True}]}, blob=b"\x00")  # a Binary is there, yet has no value to compare


def test_string_arrays_match_on_any_item():
    assert passes({"customer_interests": ["rugby"]}, customer_interests=["rugby", "football"])
    assert not passes({"customer_interests": ["soccer"]}, customer_interests=["rugby", "football"])
    assert passes({"flags": [True]}, flags=[False, True])
    assert passes({"n": [7]}, n=["a", 7])


def test_or_and_cidr():
    policy = {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}
    assert passes(policy, source="aws.cloudwatch", namespace="AWS/EC2")
    assert not passes(policy, source="aws.cloudwatch", namespace="AWS/ES")
    assert passes({"ip": [{"cidr": "10.0.0.0/24"}]}, ip="10.0.0.255")
    assert not passes({"ip": [{"cidr": "10.0.0.0/24"}]}, ip="10.0.1.0")
    assert not passes({"ip": [{"cidr": "10.0.0.0/24"}]}, ip="not an address")


def test_message_body_scope_nests():
    policy = fp.parse(json.dumps({"patient": {"vitals": {"pulse": [{"numeric": [">", 100]}]}}}), "MessageBody")
    assert fp.matches_body(policy, json.dumps({"patient": {"vitals": {"pulse": 120}}}))
    assert not fp.matches_body(policy, json.dumps({"patient": {"vitals": {"pulse": 80}}}))
    assert fp.matches_body(policy, json.dumps({"patient": [{"vitals": {"pulse": 70}}, {"vitals": {"pulse": 130}}]}))
    assert not fp.matches_body(policy, "not json")
    assert not fp.matches_body(policy, "[1, 2]")
    assert fp.matches_body(None, "anything at all")


@pytest.mark.parametrize("policy, reason", [
    ("{", "failed to parse JSON"),
    ("[]", "must be a JSON object"),
    ('{"a": "x"}', '"a" must be an object or an array'),
    ('{"a": []}', "Empty arrays are not allowed"),
    ('{"a": [{"prefix": 1}]}', "prefix match pattern must be a string"),
    ('{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false"),
    ('{"a": [{"bogus": 1}]}', "Unrecognized match type bogus"),
    ('{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression"),
    ('{"a": [{"numeric": [">", "x"]}]}', "Value of > must be numeric"),
    ('{"a": [{"numeric": ["~", 1]}]}', "Unrecognized numeric range operator: ~"),
    ('{"a": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
    ('{"a": [{"numeric": ["<", 5, "<", 9]}]}', "Too many elements in numeric expression"),
    ('{"a": [{"numeric": [">", 1, "<", 5, "<", 9]}]}', "Too many terms in numeric range expression"),
    ('{"a": [2000000000]}', "between -1000000000 and 1000000000"),
    ('{"a": [NaN]}', "failed to parse JSON"),
    ('{"a": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"),
    ('{"a": [{"cidr": "10.0.0.300/8"}]}', "Nonstandard IP address: 10.0.0.300"),
    ('{"a": [{"anything-but": {"exists": true}}]}', "Unsupported anything-but pattern: exists"),
    ('{"a": [[1]]}', "Match value must be String, number, true, false, or null"),
    ('{"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]}', "more than 5 keys"),
    ('{"a": [1,2,3,4,5,6], "b": [1,2,3,4,5,6], "c": [1,2,3,4,5]}', "Filter policy is too complex"),
    ('{"a": {"b": ["x"]}}', "MessageAttributes does not support nested filter policy"),
    ('{"$or": [{"a": ["x"]}]}', '"$or" must be an array of at least two objects'),
])
def test_policies_refused(policy, reason):
    with pytest.raises(fp.PolicyError) as refused:
        fp.parse(policy, "MessageAttributes")
    assert reason in str(refused.value)


def test_hostile_policies_are_refused_cheaply():
    with pytest.raises(fp.PolicyError, match="too long"):
        fp.parse('{"a": ["' + "x" * 300_000 + '"]}', "MessageAttributes")
    with pytest.raises(fp.PolicyError, match="failed to parse"):
        fp.parse("[" * 100_000, "MessageBody")
    deep = '{"a":' * 50 + '["x"]' + "}" * 50  # nesting multiplies combinations by its depth
    with pytest.raises(fp.PolicyError, match="too complex"):
        fp.parse(deep, "MessageBody")
    assert fp.parse("", "MessageAttributes") is None and fp.parse("{}", "MessageAttributes") is None


def test_a_deeply_nested_body_is_matched_without_recursion():
    policy = fp.parse('{"a": ["x"]}', "MessageBody")
    assert fp.matches_body(policy, '{"a": ' + "[" * 900 + '"x"' + "]" * 900 + "}")
    assert not fp.matches_body(policy, '{"a": ' + "[" * 900 + '"y"' + "]" * 900 + "}")

import base64
import json

import pytest

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination, tags
from cloudlet.config import Config
from cloudlet.services.context import Context
from cloudlet.store import Store
from cloudlet.store.accounts import create_account


def test_ids_look_like_aws():
    rid = ids.resource_id("i")
    assert rid.startswith("i-") and len(rid) == 19 and int(rid[2:], 16) >= 0
    assert ids.arn("ecs", "us-east-1", "123456789012", "cluster/x") == "arn:aws:ecs:us-east-1:123456789012:cluster/x"
    assert len(ids.request_id()) == 36


@pytest.mark.parametrize("pattern,value,expected", [
    ("web*", "web-1", True), ("web*", "db-1", False), ("w?b", "wab", True), ("w?b", "waab", False),
    (r"a\*b", "a*b", True), (r"a\*b", "axb", False), ("*", "", True), ("x.y", "xzy", False),
])
def test_wildcards(pattern, value, expected):
    assert filters.matches(pattern, value) is expected


ITEMS = [{"name": "web-1", "state": "running", "t": {"env": "prod"}},
         {"name": "web-2", "state": "stopped", "t": {"env": "dev"}},
         {"name": "db-1", "state": "running", "t": {}}]
GETTERS = {"name": lambda i: i["name"], "state": lambda i: i["state"]}


def names(found):
    return [i["name"] for i in found]


def test_filters_and_across_names_or_within_values():
    spec = [{"Name": "name", "Values": ["web-*"]}, {"Name": "state", "Values": ["running", "pending"]}]
    assert names(filters.apply(ITEMS, spec, GETTERS, lambda i: i["t"])) == ["web-1"]


def test_tag_filters():
    tags_of = lambda i: i["t"]  # noqa: E731
    assert names(filters.apply(ITEMS, [{"Name": "tag:env", "Values": ["d*"]}], GETTERS, tags_of)) == ["web-2"]
    assert names(filters.apply(ITEMS, [{"Name": "tag-key", "Values": ["env"]}], GETTERS, tags_of)) == ["web-1", "web-2"]
    assert names(filters.apply(ITEMS, [{"Name": "tag-value", "Values": ["prod"]}], GETTERS, tags_of)) == ["web-1"]


def test_unknown_filter_is_aws_error():
    with pytest.raises(AWSError) as err:
        filters.apply(ITEMS, [{"Name": "colour", "Values": ["x"]}], GETTERS)
    assert err.value.code == "InvalidParameterValue" and "colour" in err.value.message


def test_pagination_walks_every_item_once_even_when_items_change():
    items = [{"id": f"k{n:03}"} for n in range(23)]
    seen, token = [], None
    while True:
        chunk, token = pagination.page(items, key=lambda i: i["id"], token=token, max_results=5, minimum=5)
        seen += [i["id"] for i in chunk]
        if token is None:
            break
        items.insert(0, {"id": "a-new-first-item"})  # sorts before the cursor: must not shift pages
    assert seen == [f"k{n:03}" for n in range(23)]


def test_pagination_limits_and_bad_tokens():
    items = [{"id": n} for n in range(3)]
    with pytest.raises(AWSError) as err:
        pagination.page(items, key=lambda i: i["id"], token=None, max_results=2, minimum=5, maximum=1000)
    assert err.value.code == "InvalidParameterValue"
    with pytest.raises(AWSError) as err:
        pagination.page(items, key=lambda i: i["id"], token="!!not-a-token", max_results=None)
    assert err.value.code == "InvalidNextToken"
    for forged in ([{}], ["k1"]):  # well-formed, but not a key of these items
        with pytest.raises(AWSError) as err:
            pagination.page(items, key=lambda i: i["id"], token=base64.urlsafe_b64encode(json.dumps(forged).encode())
                            .decode(), max_results=None)
        assert err.value.code == "InvalidNextToken"
    chunk, token = pagination.page(items, key=lambda i: i["id"], token=None, max_results=None)
    assert len(chunk) == 3 and token is None


def test_tags_put_get_remove(db):
    tags.put(db, "key-1", "key-pair", {"a": "1", "b": "2"})
    tags.put(db, "key-1", "key-pair", {"a": "3"})
    assert tags.get(db, "key-1") == {"a": "3", "b": "2"}
    tags.remove(db, "key-1", ["a"], {"a": "wrong"})
    assert tags.get(db, "key-1") == {"a": "3", "b": "2"}
    tags.remove(db, "key-1", ["a", "b"])
    assert tags.get(db, "key-1") == {}


@pytest.mark.parametrize("pairs,code", [
    ({"aws:x": "1"}, "InvalidParameterValue"),
    ({"k" * 129: "1"}, "InvalidParameterValue"),
    ({"k": "v" * 257}, "InvalidParameterValue"),
    ({f"k{n}": "v" for n in range(51)}, "TagLimitExceeded"),
])
def test_tag_rules(db, pairs, code):
    with pytest.raises(AWSError) as err:
        tags.put(db, "key-1", "key-pair", pairs)
    assert err.value.code == code
    assert tags.get(db, "key-1") == {}


class _Cluster(tags.ArnTagging):
    """A JSON-service provider spelling tags the ECS way."""

    def tagged_resource_type(self, db, arn):
        if not arn.endswith(":cluster/known"):
            raise AWSError("InvalidParameterException", "The specified cluster is not found.")
        return "cluster"


def test_arn_tagging_family(tmp_path):
    store = Store(tmp_path / "s.db")
    cred = create_account(store, "dev")
    ctx = Context(store, Config(data_dir=tmp_path), cred, "us-east-1", "req-1")
    provider, arn = _Cluster(), ctx.arn("ecs", "cluster/known")
    provider.tag_resource(ctx, {"resourceArn": arn, "tags": [{"key": "team", "value": "web"}, {"key": "x", "value": "1"}]})
    provider.untag_resource(ctx, {"resourceArn": arn, "tagKeys": ["x"]})
    assert provider.list_tags_for_resource(ctx, {"resourceArn": arn}) == {"tags": [{"key": "team", "value": "web"}]}
    with pytest.raises(AWSError):
        provider.list_tags_for_resource(ctx, {"resourceArn": arn.replace("known", "nope")})

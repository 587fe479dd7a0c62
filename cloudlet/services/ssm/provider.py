"""SSM Parameter Store: parameters with versions, labels and tags, the searches scripts run
over them, and AWS's public parameters (public.py) that name the built-in AMIs."""

from __future__ import annotations

import re
import unicodedata
from contextlib import contextmanager

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.services.ec2.images import builtin
from cloudlet.store.parameters import ParameterError, Parameters, key, not_found, ref
from cloudlet.store.schema import ec2_images

from . import filters, names, public

_AMI = re.compile(r"ami-[0-9a-f]{8,17}")
_NESTED = re.compile(r"\{\{.*\}\}", re.DOTALL)
_DATA_TYPES = ("text", "aws:ec2:image")
_TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"


@contextmanager
def as_aws():
    try:
        yield
    except ParameterError as e:
        raise AWSError(e.code, e.message) from None


def _arn(ctx, version: dict) -> str:
    if names.reserved(version["key"]):  # AWS's own parameters belong to no account
        return f"arn:aws:ssm:{ctx.region}::parameter{version['key']}"
    return ctx.arn("ssm", "parameter/" + version["key"].lstrip("/"))


def _parameter(ctx, v: dict) -> dict:
    return {"Name": v["name"], "Type": v["type"], "Value": v["value"], "Version": v["version"],
            **({"Selector": v["selector"]} if v.get("selector") else {}), "LastModifiedDate": v["modified_at"],
            "ARN": _arn(ctx, v), "DataType": v["data_type"]}


def _metadata(ctx, v: dict) -> dict:
    optional = {"KeyId": v["key_id"], "LastModifiedUser": v["modified_by"], "Description": v["description"]}
    return {"Name": v["name"], "ARN": _arn(ctx, v), "Type": v["type"], "LastModifiedDate": v["modified_at"],
            "Version": v["version"], "Tier": v["tier"], "Policies": [], "DataType": v["data_type"],
            **{k: value for k, value in optional.items() if value is not None}}


def _history(ctx, v: dict) -> dict:
    out = {**_metadata(ctx, v), "Value": v["value"], "Labels": v["labels"]}
    out.pop("ARN")
    return out


def _public(ctx, text: str) -> dict:
    """A public parameter by name or ARN, with an optional selector (there is only version 1)."""
    wanted = ref(text)
    found = public.find(ctx.region, wanted.name) if wanted.account in (None, "") and \
        wanted.region in (None, ctx.region) else None
    if found is None or (wanted.selector is not None and not wanted.selector.isdigit()):
        raise not_found(text)
    if wanted.selector is not None and wanted.selector != "1":
        raise ParameterError("ParameterVersionNotFound", f"Systems Manager could not find version "
                             f"{wanted.selector} of {wanted.name}. Verify the version and try again.")
    return {**found, "selector": None if wanted.selector is None else ":1"}


def _tag_text(text: str) -> bool:
    """Whether a tag's key or value matches the model's _TAG_PATTERN, which Python's re cannot spell."""
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def _check_tags(given: list[dict] | None, current: dict[str, str]) -> dict[str, str]:
    """The tags of a request as a map, refused as SSM refuses them."""
    for i, tag in enumerate(given or [], start=1):
        for member in ("Key", "Value"):
            if not _tag_text(tag[member]):
                raise names.invalid(f"1 validation error detected: Value '{tag[member][:100]}' at 'tags.{i}.member."
                                    f"{member.lower()}' failed to satisfy constraint: Member must satisfy regular "
                                    f"expression pattern: {_TAG_PATTERN}")
    pairs = tags.from_pairs(given)
    if any(tags.reserved(k) for k in pairs):
        raise AWSError("ValidationException", "Tag keys beginning with \"aws:\" are reserved for AWS's use.")
    if len(set(current) | set(pairs)) > tags.MAX_TAGS:
        raise AWSError("TooManyTagsError", "The Targets parameter includes too many tags. Remove one or more tags "
                       "and try the command again.")
    return pairs


class SSM:
    def __init__(self, config, store):
        self.config = config
        self.parameters = Parameters(config.data_dir)

    def _read(self, ctx, db, text: str, decrypt: bool) -> dict:
        """A version of the caller's parameter or of a public one."""
        wanted = ref(text)
        names.check_read(wanted.name)
        if names.reserved(wanted.name) or wanted.account == "":
            return _public(ctx, text)
        return self.parameters.get(db, text, decrypt)

    def _page(self, versions: list[dict], order, request, most: int) -> tuple[list[dict], str | None]:
        """A page of versions (as many as the operation gives at most, by default), their values
        decrypted if the request asks."""
        page, token = pagination.page(versions, order, request.get("NextToken"), request.get("MaxResults"),
                                      default=most, maximum=most)
        return ([self.parameters.reveal(v) for v in page] if request.get("WithDecryption") else page), token

    def _image_available(self, db, region: str, value: str) -> bool:
        """An aws:ec2:image value: an AMI this account can launch (a built-in one or its own)."""
        if not _AMI.fullmatch(value):
            return False
        return value in builtin(region) or \
            db.one(ec2_images, ec2_images.c.image_id == value, ec2_images.c.state == "available") is not None

    def put_parameter(self, ctx, request):
        name, value, kind = request["Name"].strip(), request["Value"], request.get("Type")
        names.check_new(name, ctx.arn("ssm", "parameter/"))
        if not value:
            raise names.invalid("1 validation error detected: Value at 'value' failed to satisfy constraint: Member "
                                "must have length greater than or equal to 1")
        if _NESTED.search(value):
            raise names.invalid("Parameter value can't nest another parameter. Do not use \"{{}}\" in the value.")
        data_type = request.get("DataType")
        if data_type is not None and data_type not in _DATA_TYPES:
            raise names.invalid(f"The following data type is not supported: {data_type} (Data type names are all "
                                "lowercase.)")
        pairs = _check_tags(request.get("Tags"), {})
        if pairs and request.get("Overwrite"):
            raise names.invalid("Invalid request: tags and overwrite can't be used together. To create a parameter "
                                "with tags, please remove overwrite flag. To update tags for an existing parameter, "
                                "please use AddTagsToResource or RemoveTagsFromResource.")

        def accept(version: dict) -> bool:
            # AWS checks an AMI id after answering and drops a version whose AMI it cannot find
            return version["data_type"] != "aws:ec2:image" or self._image_available(db, ctx.region, version["value"])

        with ctx.write() as db, as_aws():
            version, written = self.parameters.put(
                db, name, value, kind=kind, overwrite=bool(request.get("Overwrite")),
                description=request.get("Description"), key_id=request.get("KeyId"), tier=request.get("Tier"),
                data_type=data_type, by=ctx.caller_arn, accept=accept)
            if written and pairs:
                tags.put(db, _arn(ctx, {"key": key(name)}), "Parameter", pairs)
        return {"Version": version["version"], "Tier": version["tier"]}

    def get_parameter(self, ctx, request):
        with ctx.read() as db, as_aws():
            return {"Parameter": _parameter(ctx, self._read(ctx, db, request["Name"],
                                                            bool(request.get("WithDecryption"))))}

    def get_parameters(self, ctx, request):
        found, invalid = [], []
        with ctx.read() as db:
            for name in dict.fromkeys(request["Names"]):
                try:
                    found.append(_parameter(ctx, self._read(ctx, db, name, bool(request.get("WithDecryption")))))
                except (ParameterError, AWSError):
                    invalid.append(name)
        return {"Parameters": found, "InvalidParameters": invalid}

    def get_parameters_by_path(self, ctx, request):
        path = request["Path"].strip()
        names.check_path(path)
        wanted = filters.check(request.get("ParameterFilters"), by_path=True)
        by_label = any(f[0] == "Label" for f in wanted)
        wanted.append(("Path", "Recursive" if request.get("Recursive") else "OneLevel", [path]))
        with ctx.read() as db, as_aws():
            candidates = [[v] for v in public.listing(ctx.region)] if names.reserved(path) else \
                self.parameters.listing(db, under=path, every_version=by_label)
            # each parameter's newest version that passes (with a Label filter, the labeled one)
            newest = (next((v for v in versions if filters.matches(v, wanted, {})), None) for versions in candidates)
            chosen = [v for v in newest if v is not None]
            page, token = self._page(chosen, lambda v: v["key"], request, most=10)
        return {"Parameters": [_parameter(ctx, v) for v in page], "NextToken": token}

    def describe_parameters(self, ctx, request):
        if request.get("Filters") and request.get("ParameterFilters"):
            raise names.invalid("You can use either Filters or ParameterFilters in a single request.")
        wanted = filters.legacy(request.get("Filters")) + filters.check(request.get("ParameterFilters"),
                                                                        by_path=False)
        if request.get("Shared"):  # parameters shared by other accounts: this cloud shares none
            return {"Parameters": []}
        with ctx.read() as db:
            current = [versions[0] for versions in self.parameters.listing(db)]
            tag_map = tags.get_many(db, [_arn(ctx, v) for v in current]) \
                if any(f[0].startswith("tag:") for f in wanted) else {}
        found = [v for v in current if filters.matches(v, wanted, tag_map.get(_arn(ctx, v), {}))]
        page, token = pagination.page(found, lambda v: v["key"], request.get("NextToken"), request.get("MaxResults"),
                                      default=10, maximum=50)
        return {"Parameters": [_metadata(ctx, v) for v in page], "NextToken": token}

    def get_parameter_history(self, ctx, request):
        name = request["Name"]
        with ctx.read() as db, as_aws():
            names.check_read(ref(name).name)
            versions = [_public(ctx, name)] if names.reserved(ref(name).name) else self.parameters.history(db, name)
            page, token = self._page(versions, lambda v: v["version"], request, most=50)
        return {"Parameters": [_history(ctx, v) for v in page], "NextToken": token}

    def delete_parameter(self, ctx, request):
        name = request["Name"]
        with ctx.write() as db, as_aws():
            names.refuse_reserved(ref(name).name)
            names.check_read(ref(name).name)
            removed = self.parameters.delete(db, name)
            if removed is None:
                raise not_found(name)
            tags.drop_resource(db, _arn(ctx, {"key": removed}))
        return {}

    def delete_parameters(self, ctx, request):
        deleted, invalid = [], []
        for name in request["Names"]:
            names.refuse_reserved(name)
        with ctx.write() as db:
            for name in dict.fromkeys(request["Names"]):
                try:
                    removed = self.parameters.delete(db, name)
                except ParameterError:
                    removed = None
                if removed is None:
                    invalid.append(name)
                else:
                    tags.drop_resource(db, _arn(ctx, {"key": removed}))
                    deleted.append(name)
        return {"DeletedParameters": deleted, "InvalidParameters": invalid}

    def label_parameter_version(self, ctx, request):
        names.refuse_reserved(request["Name"])
        with ctx.write() as db, as_aws():
            invalid, version = self.parameters.label(db, request["Name"], request.get("ParameterVersion"),
                                                     request["Labels"])
        return {"InvalidLabels": invalid, "ParameterVersion": version}

    def unlabel_parameter_version(self, ctx, request):
        names.refuse_reserved(request["Name"])
        with ctx.write() as db, as_aws():
            removed, invalid = self.parameters.unlabel(db, request["Name"], request["ParameterVersion"],
                                                       request["Labels"])
        return {"RemovedLabels": removed, "InvalidLabels": invalid}

    # --- tags (Parameter Store's resources here are parameters) -----------------------------

    def _tagged(self, ctx, db, request, write: bool) -> str:
        """The ARN a tag request's resource is kept under; SSM's error if it names none of the caller's."""
        if write:
            names.refuse_reserved(request["ResourceId"])
        found = None
        if request["ResourceType"] == "Parameter":
            try:
                found = self.parameters.exists(db, request["ResourceId"])
            except ParameterError:
                pass
        if found is None:
            raise AWSError("InvalidResourceId", "The resource ID isn't valid. Verify that you entered the correct ID "
                           "and try again.")
        return _arn(ctx, {"key": found})

    def add_tags_to_resource(self, ctx, request):
        with ctx.write() as db:
            arn = self._tagged(ctx, db, request, write=True)
            tags.put(db, arn, "Parameter", _check_tags(request["Tags"], tags.get(db, arn)))
        return {}

    def remove_tags_from_resource(self, ctx, request):
        with ctx.write() as db:
            tags.remove(db, self._tagged(ctx, db, request, write=True), request["TagKeys"])
        return {}

    def list_tags_for_resource(self, ctx, request):
        with ctx.read() as db:
            return {"TagList": tags.to_pairs(tags.get(db, self._tagged(ctx, db, request, write=False)))}

"""Every service botocore knows, by its metadata alone: so that a request for one cloudlet does not
offer is named, and refused in that service's own protocol, rather than left unroutable.

Nothing of this is read at start-up. The first request for such a service reads the opening bytes
of each botocore model, where its metadata is (a tenth of a second of CPU, once per process), and
keeps the metadata only: a whole model can take megabytes, and a hostile client could ask for
every service in turn.
"""

import gzip
import json
import os
from functools import lru_cache

from botocore.loaders import Loader
from botocore.model import ServiceModel

from cloudlet.edge import models

_CHUNK = 4096
_MOST = 1 << 16  # the metadata object opens every model file; past this a file is read whole

_loader = Loader()


def _model_file(name: str) -> str | None:
    version = _loader.determine_latest_version(name, "service-2")
    for root in _loader.search_paths:
        for suffix in (".json", ".json.gz"):
            path = os.path.join(root, name, version, "service-2" + suffix)
            if os.path.isfile(path):
                return path
    return None


def _metadata(name: str) -> dict:
    path = _model_file(name)
    if path is not None:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            head = ""
            while len(head) < _MOST:
                chunk = f.read(_CHUNK)
                head += chunk
                start = head.find('"metadata"')
                try:
                    if start >= 0:
                        return json.JSONDecoder().raw_decode(head, head.index("{", start))[0]
                except ValueError:
                    pass  # cut off inside the metadata: read on
                if not chunk:
                    break
    return _loader.load_service_model(name, "service-2")["metadata"]


@lru_cache(maxsize=1)
def _services() -> dict[str, dict]:
    """botocore service name -> its model's metadata, for every service botocore has a model of."""
    return {name: _metadata(name) for name in sorted(_loader.list_available_services("service-2"))}


def signing_name(metadata: dict) -> str:
    return metadata.get("signingName") or metadata["endpointPrefix"]


def offered(service: str) -> bool:
    return service in models.SERVICES


def model(service: str) -> ServiceModel:
    """The model of a service: whole for one cloudlet offers, its metadata alone for another."""
    return models.service_model(service) if offered(service) else _metadata_model(service)


@lru_cache(maxsize=None)
def _metadata_model(service: str) -> ServiceModel:
    return ServiceModel({"metadata": _services()[service], "operations": {}, "shapes": {}}, service_name=service)


@lru_cache(maxsize=1)
def _not_offered() -> tuple[dict[str, list[str]], dict[str, str]]:
    """The services not offered here by signing name, and by X-Amz-Target prefix."""
    by_signing: dict[str, list[str]] = {}
    by_target: dict[str, str] = {}
    for service, meta in _services().items():
        if not offered(service):
            by_signing.setdefault(signing_name(meta), []).append(service)
            if meta.get("targetPrefix"):
                by_target.setdefault(meta["targetPrefix"], service)
    for name, services in by_signing.items():  # the one named as it signs first: RDS before DocumentDB
        services.sort(key=lambda s: (s != name, _services()[s]["endpointPrefix"] != name))
    return by_signing, by_target


def signed_as(name: str, target_prefix: str | None, version: str | None) -> str | None:
    """The service not offered here whose requests sign as `name`. Several may (DynamoDB and its
    Streams; RDS, Neptune and DocumentDB): the request's X-Amz-Target prefix, or the query
    protocol's Version, picks one; failing that (or among equals), the one named as it signs."""
    candidates = _not_offered()[0].get(name, [])
    meta = _services()
    for chosen in ((s for s in candidates if target_prefix and meta[s].get("targetPrefix") == target_prefix),
                   (s for s in candidates if version and meta[s]["protocol"] == "query" and
                    meta[s]["apiVersion"] == version),
                   iter(candidates)):
        found = next(chosen, None)
        if found is not None:
            return found
    return None


def targeted(prefix: str) -> str | None:
    """The service not offered here whose JSON or CBOR operations are addressed under `prefix`."""
    return _not_offered()[1].get(prefix)

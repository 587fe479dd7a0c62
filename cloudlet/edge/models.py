"""botocore's service models, loaded once per process."""

from functools import lru_cache

from botocore.loaders import Loader
from botocore.model import ServiceModel

# Services this endpoint answers for (botocore names). Each is routed and parsed even
# before it has a provider, so its operations answer as AWS answers unknown actions.
SERVICES = ("ec2", "ecs", "ecr", "logs", "cloudwatch", "autoscaling", "elbv2", "elb", "sts", "ssm", "sns",
            "application-autoscaling", "acm")

_loader = Loader()


@lru_cache(maxsize=None)
def service_model(name: str) -> ServiceModel:
    return ServiceModel(_loader.load_service_model(name, "service-2"), service_name=name)


@lru_cache(maxsize=None)
def target_prefixes() -> dict[str, str]:
    """X-Amz-Target prefix -> service, for JSON-protocol requests."""
    out = {}
    for name in SERVICES:
        prefix = service_model(name).metadata.get("targetPrefix")
        if prefix:
            out[prefix] = name
    return out


@lru_cache(maxsize=None)
def signing_names() -> dict[str, str]:
    """SigV4 signing name -> service. ELB classic and v2 share one name; see routing."""
    out = {}
    for name in SERVICES:
        meta = service_model(name).metadata
        out.setdefault(meta.get("signingName") or meta["endpointPrefix"], name)
    return out


def preload() -> None:
    for name in SERVICES:
        service_model(name)

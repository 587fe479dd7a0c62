"""What every /v2/ answer carries, and a registry error as the distribution spec words it: apart
from api.py, so that the edge's admission answers in the registry's words without importing
the registry itself (and the engine under it) at `cloudlet up`'s start."""

import json

from starlette.responses import Response

from .errors import RegistryError

API_HEADERS = {"Docker-Distribution-API-Version": "registry/2.0"}


def error_response(e: RegistryError, method: str) -> Response:
    body = {"errors": [{"code": e.code, "message": e.message, **({"detail": e.detail} if e.detail else {})}]}
    return Response(b"" if method == "HEAD" else json.dumps(body).encode(), e.status,
                    {**API_HEADERS, **e.headers}, media_type="application/json; charset=utf-8")

"""Request bodies sent compressed (Content-Encoding: gzip; botocore compresses the bodies of
operations the model marks, PutMetricData's among them, from 10 KiB), inflated once their
signature, which covers what was sent, has been checked."""

import zlib
from collections.abc import Callable
from dataclasses import replace

from cloudlet.edge.http import Request
from cloudlet.edge.refusals import refusal

INFLATION = 16  # a body inflates to at most this many times what it may carry: a gzip bomb stops there


def inflated(request: Request, protocol: str, limit: Callable[[Request], int]) -> Request:
    """request with its body inflated (and its gzip content-coding gone), at most
    INFLATION * limit(request) bytes of it (the limit worked out only for a compressed body)."""
    codings = [c.strip().lower() for c in (request.header("content-encoding") or "").split(",") if c.strip()]
    if "gzip" not in codings:
        return request
    most = INFLATION * limit(request)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(request.body, most + 1)
    except zlib.error:
        raise refusal("malformed", protocol, "The request body is not valid gzip, as its Content-Encoding says.") \
            from None
    if len(body) > most:
        raise refusal("too_large", protocol, f"The request body inflates to more than {most} bytes, the most this "
                                             "request may carry.")
    if not inflater.eof:
        raise refusal("malformed", protocol, "The request body ends before its gzip stream does.")
    rest = ", ".join(c for c in codings if c != "gzip")
    headers = {k: v for k, v in request.headers.items() if k != "content-encoding"}
    return replace(request, body=body, headers={**headers, **({"content-encoding": rest} if rest else {})})

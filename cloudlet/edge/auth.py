"""AWS Signature Version 4: read the credential scope of a request and verify its signature.

Both forms clients use are accepted: the Authorization header (`AWS4-HMAC-SHA256 Credential=...,
SignedHeaders=..., Signature=...`) and presigned URLs (`X-Amz-Algorithm`, `X-Amz-Credential`,
`X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature` in the query).

`verify` knows nothing of wire protocols; it raises `AuthFailure` with a `kind`, and the edge turns
that into the error AWS sends for that protocol with `error_for`. The canonical request follows
every service but S3: the path is normalized and encoded once more.
"""

import functools
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from cloudlet.edge.errors import AWSError
from cloudlet.edge.refusals import family

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600  # AWS refuses presigned URLs valid for more than a week
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"  # ISO 8601 basic, as in X-Amz-Date

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)

# S3 (which cloudlet does not offer, but names when refusing) signs its path as sent, neither normalized nor
# encoded again, and its presigned URLs leave the body out of the signature.
_S3 = "s3"

_TIMESTAMP = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")


@dataclass(frozen=True)
class Signed:
    """What a verified request tells us."""

    access_key: str
    region: str  # from the credential scope
    service: str  # signing name from the scope, e.g. "ec2", "ecs", "monitoring", "sts"
    date: datetime  # the signing time (X-Amz-Date), aware UTC


class AuthFailure(Exception):
    """A request that does not authenticate. `kind` is one of missing, unknown_key, signature, expired,
    malformed. `message` is empty where AWS's text depends on the protocol (missing, unknown_key), so
    that `error_for` supplies it."""

    def __init__(self, kind: str, message: str = ""):
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class _Parts:
    """The signature material of one request, whichever form carried it."""

    access_key: str
    date: str  # YYYYMMDD from the credential scope
    region: str
    service: str
    timestamp: str  # YYYYMMDDTHHMMSSZ, as it enters the string to sign
    signed_headers: str
    signature: str
    expires: int | None  # seconds, presigned URLs only


# --- reading -------------------------------------------------------------------------------------


def _credential(value: str) -> tuple[str, str, str, str]:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts):
        raise AuthFailure("malformed", "Credential must have exactly 5 slash-delimited elements, "
                                       f"e.g. keyid/date/region/service/term, got '{value}'")
    access_key, date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise AuthFailure("malformed", "Credential should be scoped with a valid terminator: 'aws4_request', "
                                       f"not '{terminator}'.")
    if not re.fullmatch(r"[0-9]{8}", date):
        raise AuthFailure("malformed", f"Credential should be scoped to a valid date, not '{date}'.")
    return access_key, date, region, service


def _authorization_fields(header: str) -> dict[str, str]:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthFailure("malformed", f"Unsupported Authorization Type: '{algorithm}'. Use {ALGORITHM}.")
    fields = {}
    for item in rest.split(","):
        name, _, value = item.strip().partition("=")
        fields[name] = value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        required = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        raise AuthFailure("malformed", f"{required} Authorization={header}")
    return fields


def _query_params(request) -> dict[str, str]:
    # Only the auth parameters are read here, and AWS allows each once; the last one wins like parse_qs.
    return dict(parse_qsl(request.query_string, keep_blank_values=True))


def _is_presigned(params: dict[str, str]) -> bool:
    return any(name in params for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"))


def _header_timestamp(request) -> str:
    amz_date = request.header("x-amz-date")
    if amz_date is not None:
        return amz_date.strip()
    date = request.header("date")
    if date is None:
        raise AuthFailure("malformed", "Authorization header requires existence of either a 'X-Amz-Date' or "
                                       "a 'Date' header.")
    try:
        # Clients that send Date instead of X-Amz-Date still sign the basic ISO form of that time.
        return parsedate_to_datetime(date).astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)
    except (TypeError, ValueError):
        raise AuthFailure("malformed", f"Date must be in ISO-8601 'basic format'. Got '{date}'.") from None


def _authorization(request) -> str | None:
    # A blank header is what some clients send with no credentials at all: treat it as absent.
    header = request.header("authorization")
    return header if header and header.strip() else None


def is_unsigned(request) -> bool:
    """No Authorization header and no presigned query parameters."""
    return _authorization(request) is None and not _is_presigned(_query_params(request))


def _parts(request) -> _Parts:
    header = _authorization(request)
    if header is not None:
        fields = _authorization_fields(header)
        access_key, date, region, service = _credential(fields["Credential"])
        return _Parts(access_key, date, region, service, _header_timestamp(request),
                      fields["SignedHeaders"], fields["Signature"], None)
    params = _query_params(request)
    if not _is_presigned(params):
        raise AuthFailure("missing")
    for name in (*_PRESIGN_PARAMS, "X-Amz-Expires"):
        if not params.get(name):
            raise AuthFailure("malformed", f"AWS query-string parameters must include '{name}'. "
                                           "Re-examine the query-string parameters.")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthFailure("malformed", f"X-Amz-Algorithm only supports '{ALGORITHM}'")
    expires = params["X-Amz-Expires"]
    if not re.fullmatch(r"[0-9]{1,7}", expires) or int(expires) > MAX_PRESIGN_EXPIRES:
        raise AuthFailure("malformed", "X-Amz-Expires must be a number of seconds from 0 to "
                                       f"{MAX_PRESIGN_EXPIRES} (a week).")
    access_key, date, region, service = _credential(params["X-Amz-Credential"])
    return _Parts(access_key, date, region, service, params["X-Amz-Date"],
                  params["X-Amz-SignedHeaders"], params["X-Amz-Signature"], int(expires))


def scope(request) -> tuple[str, str, str] | None:
    """(access_key, region, service) from the credential scope, unverified, for routing before the secret
    is known; None when the request carries no (readable) scope."""
    header = _authorization(request)
    if header is not None:
        match = re.search(r"Credential=([^,\s]+)", header)
        credential = match.group(1) if match else None
    else:
        credential = _query_params(request).get("X-Amz-Credential")
    if credential is None:
        return None
    try:
        access_key, _, region, service = _credential(credential)
    except AuthFailure:
        return None
    return access_key, region, service


# --- canonical request ---------------------------------------------------------------------------


def _canonical_uri(raw_path: str) -> str:
    # Dot segments and repeated slashes go, as clients drop them before signing; then the already
    # encoded path is encoded once more, which is what every service but S3 signs.
    segments = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if raw_path.endswith("/") and segments:
        path += "/"
    return quote(path, safe="/~")


def _uri_encode(component: str) -> str:
    # Decoding first makes '+', '%7E' and a raw '~' all sign the way the client's own encoder wrote them;
    # bytes, not text, so that a non-UTF-8 escape survives the round trip.
    return quote(unquote_to_bytes(component.replace("+", " ")), safe="-_.~")


def _canonical_query(query_string: str, presigned: bool) -> str:
    pairs = []
    for item in query_string.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        name, value = _uri_encode(name), _uri_encode(value)
        if presigned and name == "X-Amz-Signature":
            continue
        pairs.append(f"{name}={value}")
    # Sorting "name=value" strings would order "a-b" before "a=b"; sort by (name, value) instead.
    return "&".join(sorted(pairs, key=lambda pair: pair.split("=", 1)))


def _payload_hash(request) -> str:
    declared = request.header("x-amz-content-sha256")
    actual = hashlib.sha256(request.body).hexdigest()
    if declared is None or declared == UNSIGNED_PAYLOAD:
        return declared or actual
    if not _HEX_SHA256.fullmatch(declared):
        raise AuthFailure("malformed", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a SHA256 value.")
    if declared != actual:
        # The declared hash is what gets signed, so a body swapped under it must be caught here.
        raise AuthFailure("signature", "The provided 'x-amz-content-sha256' header does not match what was "
                                       "computed.")
    return declared


def _canonical_request(request, method: str, signed_headers: str, presigned: bool, service: str) -> str:
    names = signed_headers.split(";")
    headers = "".join(f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in names)
    s3 = service == _S3
    return "\n".join([
        method,
        request.raw_path if s3 else _canonical_uri(request.raw_path),
        _canonical_query(request.query_string, presigned),
        headers,
        signed_headers,
        UNSIGNED_PAYLOAD if s3 and presigned else _payload_hash(request),
    ])


# --- signing -------------------------------------------------------------------------------------


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=1024)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key changes once a day per scope, yet every request needs it: four HMACs saved each time."""
    return _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode("utf-8"), date), region), service), "aws4_request")


def _signature(secret: str, parts: _Parts, canonical: str) -> str:
    scope_text = f"{parts.date}/{parts.region}/{parts.service}/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{parts.timestamp}\n{scope_text}\n{digest}"
    key = _signing_key(secret, parts.date, parts.region, parts.service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_time(parts: _Parts, signed_at: datetime, now: datetime) -> None:
    fmt = TIMESTAMP_FORMAT
    if signed_at - now > MAX_SKEW:
        raise AuthFailure("expired", f"Signature not yet current: {parts.timestamp} is still later than "
                                     f"{(now + MAX_SKEW).strftime(fmt)} ({now.strftime(fmt)} + 15 min.)")
    if parts.expires is None:
        if now - signed_at > MAX_SKEW:
            raise AuthFailure("expired", f"Signature expired: {parts.timestamp} is now earlier than "
                                         f"{(now - MAX_SKEW).strftime(fmt)} ({now.strftime(fmt)} - 15 min.)")
    elif now - signed_at > timedelta(seconds=parts.expires):
        raise AuthFailure("expired", "Request has expired.")


def verify(request, secret_for: Callable[[str], str | None], now: datetime | None = None,
           must_sign: tuple[str, ...] = ()) -> Signed:
    """Check the request's SigV4 signature with the secret `secret_for` gives for its access key.
    `must_sign` names headers (as AWS spells them) that, when the request has them, its signature
    must cover: those that decide how the request is read. Raises AuthFailure; on success says who
    signed, for which region and service, and when."""
    parts = _parts(request)
    if not _TIMESTAMP.fullmatch(parts.timestamp):
        raise AuthFailure("malformed", f"X-Amz-Date must be in ISO-8601 'basic format'. Got '{parts.timestamp}'.")
    try:
        signed_at = datetime.strptime(parts.timestamp, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise AuthFailure("malformed", f"X-Amz-Date is not a valid date: '{parts.timestamp}'.") from None
    if parts.timestamp[:8] != parts.date:
        raise AuthFailure("signature", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                                       f"of date from HTTP: '{parts.date}' != '{parts.timestamp[:8]}', "
                                       f"from '{parts.timestamp}'.")
    signed_names = parts.signed_headers.split(";")
    if "host" not in signed_names:
        raise AuthFailure("malformed", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    for name in must_sign:
        if request.header(name) is not None and name.lower() not in signed_names:
            raise AuthFailure("malformed", f"'{name}' must be a 'SignedHeader' in the AWS Authorization.")
    secret = secret_for(parts.access_key)
    if secret is None:
        raise AuthFailure("unknown_key")
    presigned = parts.expires is not None
    given = parts.signature.encode("utf-8", "replace")
    methods = [request.method.upper()]
    if presigned and methods == ["GET"]:
        # boto3's generate_presigned_url signs query-protocol operations (EC2, STS, ...) with their
        # model's POST although the URL is then opened with GET (boto/boto3#756); accept that signature
        # too, since the action and all its parameters are in the signed query either way.
        methods.append("POST")
    expected = [_signature(secret, parts, _canonical_request(request, method, parts.signed_headers, presigned,
                                                             parts.service))
                for method in methods]
    if not any(hmac.compare_digest(signature.encode(), given) for signature in expected):
        raise AuthFailure("signature", SIGNATURE_MISMATCH)
    _check_time(parts, signed_at, now or datetime.now(timezone.utc))
    return Signed(parts.access_key, parts.region, parts.service, signed_at)


# --- errors --------------------------------------------------------------------------------------

_INVALID_TOKEN = "The security token included in the request is invalid."

# kind -> protocol family -> (code, status, AWS's text when the failure carries none)
_ERRORS = {
    "missing": {
        "ec2": ("AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
        "query": ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
        "json": ("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
        "s3": ("AccessDenied", 403, "Access Denied"),
    },
    "unknown_key": {
        "ec2": ("AuthFailure", 401, "AWS was not able to validate the provided access credentials"),
        "query": ("InvalidClientTokenId", 403, _INVALID_TOKEN),
        "json": ("UnrecognizedClientException", 403, _INVALID_TOKEN),
        "s3": ("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."),
    },
    "signature": {
        "ec2": ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH),
        "query": ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH),
        "json": ("InvalidSignatureException", 403, SIGNATURE_MISMATCH),
        "s3": ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH),
    },
    "expired": {
        "ec2": ("RequestExpired", 403, "Request has expired."),
        "query": ("SignatureDoesNotMatch", 403, "Signature expired."),
        "json": ("InvalidSignatureException", 403, "Signature expired."),
        "s3": ("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too "
                                            "large."),
    },
    "malformed": {
        "ec2": ("IncompleteSignature", 403, "The request signature does not conform to AWS standards."),
        "query": ("IncompleteSignature", 403, "The request signature does not conform to AWS standards."),
        "json": ("IncompleteSignatureException", 403, "The request signature does not conform to AWS standards."),
        "s3": ("AuthorizationHeaderMalformed", 400, "The authorization header is malformed."),
    },
}

def error_for(kind: str, protocol: str, message: str) -> AWSError:
    """The error AWS returns for an authentication failure of `kind` under `protocol`."""
    code, status, default = _ERRORS[kind][family(protocol)]
    return AWSError(code, message or default, status)

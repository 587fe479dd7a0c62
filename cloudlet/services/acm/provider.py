"""AWS Certificate Manager: imported certificates, and requested ones issued at once by
cloudlet's local CA (local_ca.py says why, and how a client trusts it), for the load
balancers' HTTPS and TLS listeners.

A requested certificate skips PENDING_VALIDATION: its DomainValidationOptions show the
DNS record or mailboxes ACM would have asked for, already SUCCESS. Private keys are kept
sealed (store/certificates.py) and leave only through ExportCertificate, for a
certificate requested with Options.Export ENABLED, encrypted under the caller's passphrase.
"""

from __future__ import annotations

import re
import time
import uuid

from cryptography.hazmat.primitives import serialization

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.store import certificates as store

from . import certificates, pem, tagging
from .local_ca import LocalCA
from .names import requested_names

_ARN = re.compile(r"arn:aws[a-z-]*:acm:([a-z0-9-]+):([0-9]{12}):certificate/([0-9a-f-]{36})")
_PUBLIC_KEYS = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")
_DEFAULT_KEY_TYPES = ("RSA_1024", "RSA_2048")  # what ListCertificates shows unless Includes.keyTypes says
_IDEMPOTENCY_SECONDS = 3600


def _not_found(ctx, arn: str) -> AWSError:
    return AWSError("ResourceNotFoundException", f"Certificate with arn {arn} not found in account {ctx.account_id}")


def _mine(ctx, arn: str) -> None:
    """A certificate ARN; another region's or account's is simply not found."""
    match = _ARN.fullmatch(arn)
    if match is None:
        raise AWSError("InvalidArnException", f"String '{arn}' is not a valid certificate ARN.")
    if match.group(1) != ctx.region or match.group(2) != ctx.account_id:
        raise _not_found(ctx, arn)


def _row(ctx, db, arn: str) -> dict:
    _mine(ctx, arn)
    row = store.get(db, arn)
    if row is None:
        raise _not_found(ctx, arn)
    return row


class ACM:
    def __init__(self, config, store_):
        self.config = config
        self.ca = LocalCA(config.data_dir)

    # --- making certificates ------------------------------------------------------------

    def import_certificate(self, ctx, request):
        material = pem.parse(request["Certificate"], request["PrivateKey"], request.get("CertificateChain"))
        arn = request.get("CertificateArn")
        given_tags = request.get("Tags") or []
        if arn is not None and given_tags:
            raise AWSError("ValidationException", "You cannot apply tags when reimporting a certificate.")
        tagging.check(given_tags)
        now = time.time()
        with ctx.write() as db:
            old = _row(ctx, db, arn)["body"] if arn is not None else None
            if old is not None and old["Type"] != "IMPORTED":
                raise AWSError("ValidationException", f"Certificate {arn} is not an imported certificate; only "
                               "imported certificates can be reimported.")
            arn = arn or ctx.arn("acm", f"certificate/{uuid.uuid4()}")
            body = {**certificates.detail(arn, material.certificate), "Status": "ISSUED", "Type": "IMPORTED",
                    "CreatedAt": old["CreatedAt"] if old else now, "ImportedAt": now,
                    "CertificateKeyPairOrigin": "CUSTOMER_PROVIDED"}
            store.put(db, ctx.store.sealer, arn, body, material.certificate_pem(), material.chain_pem(),
                      material.key_pem)
            if given_tags:
                tagging.add(db, arn, given_tags)
        return {"CertificateArn": arn}

    def request_certificate(self, ctx, request):
        algorithm = request.get("KeyAlgorithm") or "RSA_2048"
        if algorithm not in _PUBLIC_KEYS:
            raise AWSError("InvalidParameterException", f"Key algorithm {algorithm} is not supported for public "
                           f"certificates. Supported algorithms: {', '.join(_PUBLIC_KEYS)}.")
        for unsupported in ("CertificateAuthorityArn", "ManagedBy"):
            if request.get(unsupported):  # no ACM Private CA and no CloudFront here to issue or manage one
                raise AWSError("InvalidParameterException", f"{unsupported} is not supported by this endpoint.")
        method = request.get("ValidationMethod") or "EMAIL"
        if method == "HTTP":
            raise AWSError("InvalidParameterException", "HTTP validation is only available for certificates "
                           "managed by CloudFront.")
        names, validation_domains = requested_names(request)
        given_tags = request.get("Tags") or []
        tagging.check(given_tags)
        token = request.get("IdempotencyToken")
        with ctx.read() as db:
            earlier = self._earlier(db, token)
        if earlier:
            return {"CertificateArn": earlier}
        cert, key_pem = self.ca.issue(names, algorithm)  # outside the transaction: making a key takes a while
        options = request.get("Options") or {}
        now = time.time()
        with ctx.write() as db:
            earlier = self._earlier(db, token)  # another request with the token got there meanwhile
            if earlier:
                return {"CertificateArn": earlier}
            arn = ctx.arn("acm", f"certificate/{uuid.uuid4()}")
            body = {**certificates.detail(arn, cert), "Status": "ISSUED", "Type": "AMAZON_ISSUED",
                    "CreatedAt": now, "IssuedAt": now, "CertificateKeyPairOrigin": "AWS_MANAGED",
                    "DomainValidationOptions": [certificates.validation(ctx.account_id, n, method,
                                                                        validation_domains.get(n)) for n in names],
                    "Options": {"CertificateTransparencyLoggingPreference":
                                options.get("CertificateTransparencyLoggingPreference") or "ENABLED",
                                "Export": options.get("Export") or "DISABLED"},
                    **({"_idempotency": {"token": token, "at": now}} if token else {})}
            store.put(db, ctx.store.sealer, arn, body, cert.public_bytes(serialization.Encoding.PEM).decode(),
                      self.ca.certificate_pem(), key_pem)
            if given_tags:
                tagging.add(db, arn, given_tags)
        return {"CertificateArn": arn}

    @staticmethod
    def _earlier(db, token: str | None) -> str | None:
        """The certificate the same idempotency token asked for within the hour, if any."""
        if not token:
            return None
        for body in store.every(db):
            asked = body.get("_idempotency") or {}
            if asked.get("token") == token and asked["at"] > time.time() - _IDEMPOTENCY_SECONDS:
                return body["CertificateArn"]
        return None

    # --- reading them -------------------------------------------------------------------

    def describe_certificate(self, ctx, request):
        with ctx.read() as db:
            return {"Certificate": certificates.shown(db, _row(ctx, db, request["CertificateArn"])["body"])}

    def get_certificate(self, ctx, request):
        with ctx.read() as db:
            row = _row(ctx, db, request["CertificateArn"])
        return {"Certificate": row["certificate"], **({"CertificateChain": row["chain"]} if row["chain"] else {})}

    def list_certificates(self, ctx, request):
        statuses = set(request.get("CertificateStatuses") or [])
        includes = request.get("Includes") or {}
        key_types = set(includes.get("keyTypes") or _DEFAULT_KEY_TYPES)
        with ctx.read() as db:
            found = [(body, certificates.shown(db, body)) for body in store.every(db)]
        wanted = [(body, shown) for body, shown in found
                  if (not statuses or shown["Status"] in statuses) and shown["KeyAlgorithm"] in key_types
                  and _included(shown, includes)]
        descending = request.get("SortOrder") == "DESCENDING"
        by_created = request.get("SortBy") == "CREATED_AT" or "SortOrder" in request

        def order(item):
            created = item[1]["CreatedAt"] * (-1 if descending else 1)
            return (created, item[1]["CertificateArn"]) if by_created else (item[1]["CertificateArn"],)

        page, token = pagination.page(wanted, order, request.get("NextToken"), request.get("MaxItems"),
                                      bad_token=lambda t: AWSError("InvalidArgsException",
                                                                   f"The NextToken {t[:100]} is not valid."))
        return {"CertificateSummaryList": [certificates.summary(b, s) for b, s in page],
                **({"NextToken": token} if token else {})}

    # --- changing and removing them ------------------------------------------------------

    def delete_certificate(self, ctx, request):
        arn = request["CertificateArn"]
        with ctx.write() as db:
            _row(ctx, db, arn)
            users = certificates.in_use_by(db, arn)
            if users:
                raise AWSError("ResourceInUseException", f"Certificate {arn} in account {ctx.account_id} is in use "
                               f"by {', '.join(users)}.")
            store.delete(db, arn)
            tags.drop_resource(db, arn)
        return {}

    def export_certificate(self, ctx, request):
        arn = request["CertificateArn"]
        with ctx.write() as db:
            row = _row(ctx, db, arn)
            if row["body"].get("Options", {}).get("Export") != "ENABLED":
                raise AWSError("ValidationException", f"Certificate ARN: {arn} is not a private certificate and was "
                               "not requested with Options.Export ENABLED, so it cannot be exported.")
            key = serialization.load_pem_private_key(store.private_key(db, ctx.store.sealer, arn).encode(), None)
            store.save_body(db, arn, {**row["body"], "_exported": True})
        encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(bytes(request["Passphrase"])))
        return {"Certificate": row["certificate"], "CertificateChain": row["chain"], "PrivateKey": encrypted.decode()}

    def add_tags_to_certificate(self, ctx, request):
        with ctx.write() as db:
            _row(ctx, db, request["CertificateArn"])
            tagging.add(db, request["CertificateArn"], request["Tags"])
        return {}

    def remove_tags_from_certificate(self, ctx, request):
        with ctx.write() as db:
            _row(ctx, db, request["CertificateArn"])
            tagging.remove(db, request["CertificateArn"], request["Tags"])
        return {}

    def list_tags_for_certificate(self, ctx, request):
        with ctx.read() as db:
            _row(ctx, db, request["CertificateArn"])
            return {"Tags": tagging.listed(db, request["CertificateArn"])}


def _included(shown: dict, includes: dict) -> bool:
    """Whether a certificate passes ListCertificates' Includes filters other than keyTypes."""
    usages = {u["Name"] for u in shown["KeyUsages"]}
    extended = {u["Name"] for u in shown["ExtendedKeyUsages"]}
    return (all(u == "ANY" or u in usages for u in includes.get("keyUsage") or [])
            and all(u == "ANY" or u in extended or (u == "NONE" and not extended)
                    for u in includes.get("extendedKeyUsage") or [])
            and includes.get("exportOption") in (None, shown.get("Options", {}).get("Export", "DISABLED")))

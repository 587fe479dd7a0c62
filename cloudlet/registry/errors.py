"""The registry's errors, by the OCI distribution spec's codes. The ECR API maps them to
its own exception names (services/ecr/errors.py)."""


class RegistryError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, detail=None, headers: dict | None = None,
                 ecr: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.detail = code, message, status, detail
        self.headers = headers or {}
        self.ecr = ecr  # the ECR API's exception name, where the code alone does not tell it


def name_unknown(name: str, registry_id: str) -> RegistryError:
    return RegistryError("NAME_UNKNOWN", f"The repository with name '{name}' does not exist in the registry "
                         f"with id '{registry_id}'", 404)


def blob_unknown(digest: str) -> RegistryError:
    return RegistryError("BLOB_UNKNOWN", "blob unknown to registry", 404, {"digest": digest})


def manifest_unknown(reference: str) -> RegistryError:
    return RegistryError("MANIFEST_UNKNOWN", f"Requested image not found: {reference}", 404)


def upload_unknown(upload_id: str, why: str | None = None) -> RegistryError:
    return RegistryError("BLOB_UPLOAD_UNKNOWN", f"blob upload unknown to registry: {upload_id}"
                         + (f" ({why})" if why else ""), 404)


def digest_invalid(message: str) -> RegistryError:
    return RegistryError("DIGEST_INVALID", message, 400)


def manifest_invalid(message: str) -> RegistryError:
    return RegistryError("MANIFEST_INVALID", message, 400)


STORAGE_FULL = "no space left in the registry's storage"


def storage_full(code: str, what: str) -> RegistryError:
    """The registry's disk is full: 507 Insufficient Storage (RFC 4918). ECR, whose storage
    never fills, has no error for it; its API says LimitExceededException."""
    return RegistryError(code, f"{STORAGE_FULL}: {what}", 507, ecr="LimitExceededException")

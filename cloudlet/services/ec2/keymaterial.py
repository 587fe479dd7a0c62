"""EC2 key-pair material: new key pairs (pem or ppk) and imported public keys, fingerprinted as AWS does.

Pure functions: nothing here stores anything; callers keep the public half and hand the private half
out exactly once.

KeyFingerprint, as AWS computes it (EC2 user guide, "Verify your key pair's fingerprint"):

    origin    type     fingerprint
    created   rsa      SHA-1 of the DER PKCS#8 private key, colon-separated hex
    created   ed25519  base64 SHA-256 of the OpenSSH public key blob, '=' padding kept
    imported  rsa      MD5 of the DER SubjectPublicKeyInfo, colon-separated hex
    imported  ed25519  base64 SHA-256 of the OpenSSH public key blob, '=' padding kept

The ed25519 value is `ssh-keygen -l`'s without its "SHA256:" prefix and with the padding kept.

`public_openssh` is "<type> <base64 blob>" with no comment: AWS's DescribeKeyPairs appends the key
name as the comment, and only the caller knows the name.
"""

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from cloudlet.edge.errors import AWSError

KEY_TYPES = ("rsa", "ed25519")
KEY_FORMATS = ("pem", "ppk")
# ImportKeyPair's supported RSA lengths; AWS refuses the rest.
IMPORT_RSA_BITS = (1024, 2048, 4096)
CREATE_RSA_BITS = 2048
# PuTTYgen's comment for a key converted from OpenSSH format: the key's name is not known here.
PPK_COMMENT = "imported-openssh-key"

_SSH_TYPES = ("ssh-rsa", "ssh-ed25519")
_BAD_KEY = ("InvalidKey.Format", "Key is not in valid OpenSSH public key format")


@dataclass(frozen=True)
class NewKey:
    private_material: str
    public_openssh: str
    fingerprint: str
    key_type: str


def _enum_error(member: str, value: str, allowed: tuple[str, ...]) -> AWSError:
    # The wording AWS uses when a request member is outside its enum.
    return AWSError("InvalidParameterValue",
                    f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                    f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def create(key_type: str = "rsa", key_format: str = "pem") -> NewKey:
    if key_type not in KEY_TYPES:
        raise _enum_error("keyType", key_type, KEY_TYPES)
    if key_format not in KEY_FORMATS:
        raise _enum_error("keyFormat", key_format, KEY_FORMATS)
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=CREATE_RSA_BITS)
        pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        fingerprint = _colon_hex(hashlib.sha1(pkcs8).digest())
        pem_format = serialization.PrivateFormat.TraditionalOpenSSL  # "BEGIN RSA PRIVATE KEY", as AWS hands out
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        fingerprint = _sha256_b64(_ssh_blob(key.public_key()))
        pem_format = serialization.PrivateFormat.OpenSSH
    if key_format == "pem":
        private = key.private_bytes(serialization.Encoding.PEM, pem_format, serialization.NoEncryption()).decode()
    else:
        private = _ppk(key)
    return NewKey(private, _openssh(key.public_key()), fingerprint, key_type)


def import_public(material: bytes | str) -> tuple[str, str, str]:
    """Return (public_openssh, fingerprint, key_type) for ImportKeyPair's PublicKeyMaterial."""
    try:
        key = _load_public(material.encode() if isinstance(material, str) else material)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # binascii.Error and UnicodeDecodeError are ValueErrors too: every malformed input lands here.
        raise AWSError(*_BAD_KEY) from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size in IMPORT_RSA_BITS:
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return _openssh(key), _colon_hex(hashlib.md5(spki).digest()), "rsa"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _openssh(key), _sha256_b64(_ssh_blob(key)), "ed25519"
    raise AWSError(*_BAD_KEY)


def _load_public(material: bytes):
    # Raw DER is binary; every other accepted form is ASCII text.
    if material[:1] == b"\x30":
        return serialization.load_der_public_key(material)
    text = material.decode("ascii").strip()
    if text.startswith("---- BEGIN SSH2 PUBLIC KEY ----"):
        return _load_blob(_rfc4716_blob(text))
    if text.startswith("-----BEGIN PUBLIC KEY-----"):
        return serialization.load_pem_public_key(text.encode())
    fields = text.split()
    if fields and fields[0] in _SSH_TYPES:
        if len(fields) < 2:
            raise ValueError("no key blob")
        blob = base64.b64decode(fields[1], validate=True)
        if _blob_type(blob) != fields[0]:
            raise ValueError("key type and blob disagree")
        return _load_blob(blob)
    return serialization.load_der_public_key(base64.b64decode("".join(fields), validate=True))


def _rfc4716_blob(text: str) -> bytes:
    lines = [line.strip() for line in text.splitlines()]
    if lines[-1] != "---- END SSH2 PUBLIC KEY ----":
        raise ValueError("no RFC 4716 end marker")
    body, continued = [], False
    for line in lines[1:-1]:
        # Headers are "Tag: value", continued onto the next line by a trailing backslash;
        # base64 never holds ':' so a colon marks a header.
        if continued or ":" in line:
            continued = line.endswith("\\")
        elif line:
            body.append(line)
    return base64.b64decode("".join(body), validate=True)


def _blob_type(blob: bytes) -> str:
    if len(blob) < 4:
        raise ValueError("truncated key blob")
    (size,) = struct.unpack(">I", blob[:4])
    return blob[4:4 + size].decode("ascii")


def _load_blob(blob: bytes):
    name = _blob_type(blob)
    if name not in _SSH_TYPES:
        raise ValueError(f"unsupported key type {name}")
    return serialization.load_ssh_public_key(name.encode() + b" " + base64.b64encode(blob))


def _openssh(public) -> str:
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _ssh_blob(public) -> bytes:
    return base64.b64decode(_openssh(public).split()[1])


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def _sha256_b64(blob: bytes) -> str:
    return base64.b64encode(hashlib.sha256(blob).digest()).decode()


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(n: int) -> bytes:
    # SSH mpints are two's complement: a positive number whose top bit is set gets a leading zero byte.
    return _string(n.to_bytes((n.bit_length() + 8) // 8, "big"))


def _ppk(key) -> str:
    """PuTTY-User-Key-File-2, unencrypted, which every PuTTY since 0.52 reads."""
    public_blob = _ssh_blob(key.public_key())
    algorithm = _blob_type(public_blob)
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        # PuTTY's order, with iqmp = q^-1 mod p (the same coefficient PKCS#1 keeps).
        private_blob = b"".join(_mpint(n) for n in (numbers.d, numbers.p, numbers.q, numbers.iqmp))
    else:
        private_blob = _string(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                 serialization.NoEncryption()))
    encryption = "none"
    mac_key = hashlib.sha1(b"putty-private-key-file-mac-key").digest()  # passphrase is empty
    mac_input = b"".join(_string(field) for field in (algorithm.encode(), encryption.encode(),
                                                      PPK_COMMENT.encode(), public_blob, private_blob))
    mac = hmac.new(mac_key, mac_input, hashlib.sha1).hexdigest()
    public_lines, private_lines = _b64_lines(public_blob), _b64_lines(private_blob)
    return "\n".join([
        f"PuTTY-User-Key-File-2: {algorithm}",
        f"Encryption: {encryption}",
        f"Comment: {PPK_COMMENT}",
        f"Public-Lines: {len(public_lines)}", *public_lines,
        f"Private-Lines: {len(private_lines)}", *private_lines,
        f"Private-MAC: {mac}",
    ]) + "\n"


def _b64_lines(blob: bytes) -> list[str]:
    text = base64.b64encode(blob).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]

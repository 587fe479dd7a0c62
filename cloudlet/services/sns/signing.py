"""The signatures on SNS's messages, so a subscriber can tell them from forgeries.

One RSA key per cloudlet (made once, kept sealed under the host key in the store's secrets,
as the server's other keys are) and a self-signed certificate for it, served at CERT_PATH on
the API endpoint: the message's SigningCertURL. SignatureVersion 1 is SHA1withRSA (PKCS#1
v1.5) and 2 is SHA256withRSA, over AWS's documented string to sign: "Name\\nvalue\\n" for each
of Message, MessageId, Subject (if any), Timestamp, TopicArn, Type of a Notification, and of
Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type of a (Un)SubscriptionConfirmation.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from cloudlet.store.sealing import server_secret

CERT_PATH = "/_cloudlet/sns/SimpleNotificationService.pem"
_SECRET = "sns-signing-key"
_VALID_DAYS = 3650
_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


def string_to_sign(message: dict) -> str:
    fields = _NOTIFICATION if message["Type"] == "Notification" else _CONFIRMATION
    return "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None)


def _make() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cloudlet"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "cloudlet Simple Notification Service")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"key": pem, "certificate": cert.public_bytes(serialization.Encoding.PEM).decode()})


class Signer:
    def __init__(self, store):
        kept = json.loads(server_secret(store, _SECRET, _make))
        self._key = serialization.load_pem_private_key(kept["key"].encode(), password=None)
        self.certificate = kept["certificate"].encode()

    def sign(self, message: dict) -> str:
        """The Signature of `message` (its SignatureVersion says which hash)."""
        digest = _HASHES[message["SignatureVersion"]]()
        return base64.b64encode(self._key.sign(string_to_sign(message).encode(), padding.PKCS1v15(), digest)).decode()


_signers: dict[str, Signer] = {}
_lock = threading.Lock()


def signer(store) -> Signer:
    """The store's signer, loaded once per process."""
    with _lock:
        if str(store.path) not in _signers:
            _signers[str(store.path)] = Signer(store)
        return _signers[str(store.path)]

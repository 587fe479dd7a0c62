"""EC2 key material: created keys load and match, .ppk files are well formed, fingerprints follow AWS's rules,
ImportKeyPair's formats are accepted and everything else is refused with AWS's error."""

import base64
import hashlib
import hmac
import shutil
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from cloudlet.edge.errors import AWSError
from cloudlet.services.ec2 import keymaterial

needs = {tool: pytest.mark.skipif(shutil.which(tool) is None, reason=f"{tool} is not installed")
         for tool in ("openssl", "ssh-keygen", "puttygen")}


def openssh_pub(public) -> bytes:
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


def blob_of(public) -> bytes:
    return base64.b64decode(openssh_pub(public).split()[1])


def run(*argv, stdin: bytes = b"") -> bytes:
    return subprocess.run(argv, input=stdin, capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def rsa_keys():
    # Generating RSA keys is the slow part: one per size for the whole module.
    return {bits: rsa.generate_private_key(public_exponent=65537, key_size=bits) for bits in (1024, 2048, 4096)}


# --- created keys ---------------------------------------------------------------------------------

def test_created_rsa_pem_is_pkcs1_2048_and_matches_its_public_half():
    new = keymaterial.create("rsa", "pem")
    assert new.key_type == "rsa"
    assert new.private_material.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(new.private_material.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert new.public_openssh == openssh_pub(key.public_key()).decode()
    assert new.public_openssh.startswith("ssh-rsa AAAA") and len(new.public_openssh.split()) == 2
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    assert new.fingerprint == ":".join(f"{b:02x}" for b in hashlib.sha1(pkcs8).digest())


def test_created_ed25519_pem_is_an_openssh_private_key_matching_its_public_half():
    new = keymaterial.create("ed25519", "pem")
    assert new.key_type == "ed25519"
    assert new.private_material.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    key = serialization.load_ssh_private_key(new.private_material.encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert new.public_openssh == openssh_pub(key.public_key()).decode()
    assert new.fingerprint == base64.b64encode(hashlib.sha256(blob_of(key.public_key())).digest()).decode()
    assert new.fingerprint.endswith("=") and len(new.fingerprint) == 44


def test_each_created_key_is_new():
    assert keymaterial.create("ed25519").fingerprint != keymaterial.create("ed25519").fingerprint


@needs["openssl"]
def test_created_rsa_fingerprint_matches_awss_documented_openssl_recipe(tmp_path):
    new = keymaterial.create("rsa", "pem")
    pem = tmp_path / "key.pem"
    pem.write_text(new.private_material)
    # AWS: openssl pkcs8 -in key.pem -inform PEM -outform DER -topk8 -nocrypt | openssl sha1 -c
    der = run("openssl", "pkcs8", "-in", str(pem), "-inform", "PEM", "-outform", "DER", "-topk8", "-nocrypt")
    assert run("openssl", "sha1", "-c", stdin=der).decode().split()[-1] == new.fingerprint


@needs["ssh-keygen"]
def test_created_ed25519_fingerprint_is_ssh_keygens_with_padding(tmp_path):
    new = keymaterial.create("ed25519", "pem")
    pem = tmp_path / "key.pem"
    pem.write_text(new.private_material)
    pem.chmod(0o600)
    listed = run("ssh-keygen", "-l", "-f", str(pem)).decode().split()[1]
    assert listed == "SHA256:" + new.fingerprint.rstrip("=")


# --- .ppk -----------------------------------------------------------------------------------------

def parse_ppk(text: str) -> dict:
    lines = text.splitlines()
    fields, i = {}, 0
    while i < len(lines):
        name, value = lines[i].split(": ", 1)
        if name.endswith("-Lines"):
            count = int(value)
            fields[name] = base64.b64decode("".join(lines[i + 1:i + 1 + count]))
            assert all(len(line) <= 64 for line in lines[i + 1:i + 1 + count])
            i += count
        fields[name] = fields.get(name, value)
        i += 1
    return fields


def read_strings(blob: bytes) -> list[bytes]:
    out = []
    while blob:
        (size,) = struct.unpack(">I", blob[:4])
        out.append(blob[4:4 + size])
        blob = blob[4 + size:]
    return out


def check_mac(fields: dict, algorithm: str) -> None:
    # PuTTY's v2 MAC, written out again here from the format's description rather than shared with the code.
    passphrase = b""  # an unencrypted file's MAC key still hashes the (empty) passphrase in
    key = hashlib.sha1(b"putty-private-key-file-mac-key" + passphrase).digest()
    data = b""
    for part in (algorithm.encode(), fields["Encryption"].encode(), fields["Comment"].encode(),
                 fields["Public-Lines"], fields["Private-Lines"]):
        data += len(part).to_bytes(4, "big") + part
    assert fields["Private-MAC"] == hmac.new(key, data, "sha1").hexdigest()


def test_rsa_ppk_is_well_formed_with_a_valid_mac_and_a_consistent_key():
    new = keymaterial.create("rsa", "ppk")
    fields = parse_ppk(new.private_material)
    assert new.private_material.startswith("PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\n")
    assert fields["Comment"] == keymaterial.PPK_COMMENT
    check_mac(fields, "ssh-rsa")
    name, e, n = read_strings(fields["Public-Lines"])
    assert name == b"ssh-rsa"
    assert fields["Public-Lines"] == base64.b64decode(new.public_openssh.split()[1])
    d, p, q, iqmp = (int.from_bytes(x, "big") for x in read_strings(fields["Private-Lines"]))
    e, n = int.from_bytes(e, "big"), int.from_bytes(n, "big")
    assert p * q == n and n.bit_length() == 2048 and iqmp * q % p == 1
    key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), iqmp, rsa.RSAPublicNumbers(e, n)).private_key()
    assert pow(pow(42, e, n), d, n) == 42
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    assert new.fingerprint == ":".join(f"{b:02x}" for b in hashlib.sha1(pkcs8).digest())


def test_ed25519_ppk_is_well_formed_with_a_valid_mac_and_a_consistent_key():
    new = keymaterial.create("ed25519", "ppk")
    fields = parse_ppk(new.private_material)
    assert new.private_material.startswith("PuTTY-User-Key-File-2: ssh-ed25519\nEncryption: none\n")
    check_mac(fields, "ssh-ed25519")
    name, public = read_strings(fields["Public-Lines"])
    assert name == b"ssh-ed25519"
    (seed,) = read_strings(fields["Private-Lines"])
    derived = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert derived.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == public
    assert new.public_openssh == openssh_pub(derived).decode()
    assert new.fingerprint == base64.b64encode(hashlib.sha256(fields["Public-Lines"]).digest()).decode()


@needs["puttygen"]
@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_puttygen_loads_our_ppk_files(tmp_path, key_type):
    # puttygen checks the MAC when it loads the private half; a wrong MAC fails the conversion.
    new = keymaterial.create(key_type, "ppk")
    ppk = tmp_path / "key.ppk"
    ppk.write_text(new.private_material)
    converted = tmp_path / "key.pem"
    run("puttygen", str(ppk), "-O", "private-openssh", "-o", str(converted))
    key = serialization.load_ssh_private_key(converted.read_bytes(), password=None) if key_type == "ed25519" \
        else serialization.load_pem_private_key(converted.read_bytes(), password=None)
    assert openssh_pub(key.public_key()).decode() == new.public_openssh


@pytest.mark.parametrize("key_type,key_format,member,allowed", [
    ("dsa", "pem", "keyType", "rsa, ed25519"),
    ("RSA", "pem", "keyType", "rsa, ed25519"),
    ("rsa", "der", "keyFormat", "pem, ppk"),
])
def test_create_refuses_unknown_type_or_format(key_type, key_format, member, allowed):
    with pytest.raises(AWSError) as err:
        keymaterial.create(key_type, key_format)
    bad = key_type if member == "keyType" else key_format
    assert (err.value.code, err.value.status) == ("InvalidParameterValue", 400)
    assert err.value.message == (f"1 validation error detected: Value '{bad}' at '{member}' failed to satisfy "
                                 f"constraint: Member must satisfy enum value set: [{allowed}]")


# --- ImportKeyPair --------------------------------------------------------------------------------

def rfc4716(public) -> bytes:
    body = base64.b64encode(blob_of(public)).decode()
    lines = [body[i:i + 70] for i in range(0, len(body), 70)]
    return ("---- BEGIN SSH2 PUBLIC KEY ----\n"
            'Comment: "a comment that is long enough \\\n'
            'to be continued: onto a second line"\n'
            "x-private-header: yes\n"
            + "\n".join(lines) + "\n---- END SSH2 PUBLIC KEY ----\n").encode()


def spki_der(public) -> bytes:
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


FORMATS = {
    "openssh": lambda pub: openssh_pub(pub) + b" someone@somewhere\n",
    "rfc4716": rfc4716,
    "base64-der": lambda pub: base64.b64encode(spki_der(pub)),
    "der": spki_der,
    "pem": lambda pub: pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
}


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("bits", [1024, 2048, 4096])
def test_import_rsa_in_each_format(rsa_keys, form, bits):
    public = rsa_keys[bits].public_key()
    material = FORMATS[form](public)
    openssh, fingerprint, key_type = keymaterial.import_public(material)
    assert key_type == "rsa"
    assert openssh == openssh_pub(public).decode()
    assert fingerprint == ":".join(f"{b:02x}" for b in hashlib.md5(spki_der(public)).digest())
    if form != "der":
        # Text forms may arrive as str as well as bytes.
        assert keymaterial.import_public(material.decode()) == (openssh, fingerprint, key_type)


@pytest.mark.parametrize("form", FORMATS)
def test_import_ed25519_in_each_format(form):
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    openssh, fingerprint, key_type = keymaterial.import_public(FORMATS[form](public))
    assert key_type == "ed25519"
    assert openssh == openssh_pub(public).decode()
    assert fingerprint == base64.b64encode(hashlib.sha256(blob_of(public)).digest()).decode()


@needs["ssh-keygen"]
@needs["openssl"]
def test_imported_rsa_fingerprint_matches_awss_documented_recipe(tmp_path):
    key = tmp_path / "id_rsa"
    run("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key))
    # AWS: ssh-keygen -ef key -m PEM | openssl rsa -RSAPublicKey_in -outform DER | openssl md5 -c
    pkcs1 = run("ssh-keygen", "-e", "-f", str(key), "-m", "PEM")
    der = run("openssl", "rsa", "-RSAPublicKey_in", "-outform", "DER", stdin=pkcs1)
    expected = run("openssl", "md5", "-c", stdin=der).decode().split()[-1]
    assert keymaterial.import_public((tmp_path / "id_rsa.pub").read_bytes())[1] == expected
    # ssh-keygen's own RFC 4716 export is accepted too, with the same fingerprint.
    assert keymaterial.import_public(run("ssh-keygen", "-e", "-f", str(key)))[1] == expected


@needs["ssh-keygen"]
def test_imported_ed25519_fingerprint_is_ssh_keygens_with_padding(tmp_path):
    key = tmp_path / "id_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    listed = run("ssh-keygen", "-l", "-f", str(key) + ".pub").decode().split()[1]
    fingerprint = keymaterial.import_public((tmp_path / "id_ed25519.pub").read_bytes())[1]
    assert "SHA256:" + fingerprint.rstrip("=") == listed


def ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def mpint(n: int) -> bytes:
    return n.to_bytes(n.bit_length() // 8 + 1, "big")


def junk_cases(rsa_keys):
    ed_public = ed25519.Ed25519PrivateKey.generate().public_key()
    rsa_blob = base64.b64encode(blob_of(rsa_keys[2048].public_key())).decode()
    ecdsa = ec.generate_private_key(ec.SECP256R1()).public_key()
    dsa_key = dsa.generate_private_key(key_size=1024).public_key()
    dsa_numbers = dsa_key.public_numbers()
    # Built by hand: cryptography's own ssh-dss serialization is deprecated.
    dsa_blob = b"".join(ssh_string(x) for x in (b"ssh-dss", *(mpint(n) for n in (
        dsa_numbers.parameter_numbers.p, dsa_numbers.parameter_numbers.q, dsa_numbers.parameter_numbers.g,
        dsa_numbers.y))))
    return {
        "empty": b"",
        "whitespace": b"  \n",
        "words": b"hello world",
        "binary": b"\xff\xfe\x00garbage",
        "type only": b"ssh-rsa",
        "bad base64": b"ssh-rsa AAAA!!!!",
        "truncated blob": b"ssh-rsa " + rsa_blob[:40].encode(),
        "type mismatch": f"ssh-ed25519 {rsa_blob}".encode(),
        "ecdsa openssh": openssh_pub(ecdsa),
        "ecdsa der": spki_der(ecdsa),
        "dsa openssh": b"ssh-dss " + base64.b64encode(dsa_blob),
        "dsa base64 der": base64.b64encode(spki_der(dsa_key)),
        "rfc4716 unterminated": rfc4716(ed_public).replace(b"---- END SSH2 PUBLIC KEY ----", b""),
        "rfc4716 ecdsa": rfc4716(ecdsa),
        "private key": rsa_keys[1024].private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                                    serialization.NoEncryption()),
    }


def test_import_refuses_junk_and_unsupported_key_types(rsa_keys):
    for name, material in junk_cases(rsa_keys).items():
        with pytest.raises(AWSError) as err:
            keymaterial.import_public(material)
        assert (err.value.code, err.value.message, err.value.status) == \
            ("InvalidKey.Format", "Key is not in valid OpenSSH public key format", 400), name


@pytest.mark.parametrize("bits", [1536, 3072])
def test_import_refuses_rsa_lengths_aws_does_not_support(bits):
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    for material in (openssh_pub(public), base64.b64encode(spki_der(public)), rfc4716(public)):
        with pytest.raises(AWSError) as err:
            keymaterial.import_public(material)
        assert err.value.code == "InvalidKey.Format"

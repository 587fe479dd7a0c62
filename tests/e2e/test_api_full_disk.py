"""The APIs on a full data dir (security review, issue 11): a write is refused whole with the
service's own 503 naming the cause, not a 500 or a reset connection, and works again once
space is freed. The data dir is a small tmpfs of the test's own, filled with a file."""

import errno
import secrets

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import on_tmpfs

DISK = 64 << 20


@pytest.fixture
def full(tmp_path):
    with on_tmpfs(tmp_path, DISK) as server:
        server.filler = server.data_dir / "filler"
        try:
            with open(server.filler, "wb") as f:
                while True:
                    f.write(bytes(1 << 20))
                    f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
        yield server


def refusal(call, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    resp = err.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"], resp["Error"]["Message"]


def test_writes_are_refused_until_space_is_freed(full):
    ssm, ecr, ec2 = full.client("ssm"), full.client("ecr"), full.client("ec2")
    name, repo, key = f"/full/{secrets.token_hex(4)}", f"full/{secrets.token_hex(4)}", f"full-{secrets.token_hex(4)}"
    writes = [(ssm.put_parameter, {"Name": name, "Value": "v" * 4000, "Type": "String"}, "ServiceUnavailableException"),
              (ecr.create_repository, {"repositoryName": repo}, "ServiceUnavailableException"),
              (ec2.create_key_pair, {"KeyName": key, "KeyType": "ed25519"}, "Unavailable")]
    for call, kwargs, wanted in writes:
        code, status, message = refusal(call, **kwargs)
        assert (code, status) == (wanted, 503) and "no space left" in message, message
    assert "data dir full" in full.read_log() and "Traceback" not in full.read_log()

    # nothing of them was kept, and reads still answer
    assert refusal(ssm.get_parameter, Name=name)[0] == "ParameterNotFound"
    assert refusal(ecr.describe_repositories, repositoryNames=[repo])[0] == "RepositoryNotFoundException"
    assert ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [key]}])["KeyPairs"] == []

    full.filler.unlink()
    assert ssm.put_parameter(Name=name, Value="v" * 4000, Type="String")["Version"] == 1
    assert ecr.create_repository(repositoryName=repo)["repository"]["repositoryName"] == repo
    assert ec2.create_key_pair(KeyName=key, KeyType="ed25519")["KeyName"] == key
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "v" * 4000

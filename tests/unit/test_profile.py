from cloudlet.cli.profile import replace_section, write_profile
from cloudlet.store.accounts import Credential

CRED = Credential("AKIAEXAMPLE000000000", "secret/example", "123456789012", "admin", "admin", "AIDAEXAMPLE")


def test_other_profiles_and_comments_are_kept(tmp_path):
    aws = tmp_path / ".aws"
    aws.mkdir()
    original = "# my keys\n[default]\naws_access_key_id = A\n\n[cloudlet]\naws_access_key_id = OLD\nx = y\n[prod]\nk = v\n"
    (aws / "credentials").write_text(original)
    (aws / "config").write_text("[default]\nregion = eu-west-1\n")
    write_profile(CRED, "us-east-1", "http://127.0.0.1:4566", home=tmp_path)
    creds = (aws / "credentials").read_text()
    assert creds.startswith("# my keys\n[default]\naws_access_key_id = A\n")
    assert "OLD" not in creds and "x = y" not in creds and "[prod]\nk = v\n" in creds
    assert "aws_secret_access_key = secret/example" in creds
    config = (aws / "config").read_text()
    assert config.startswith("[default]\nregion = eu-west-1\n")
    assert "[profile cloudlet]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:4566\n" in config
    assert (aws / "credentials").stat().st_mode & 0o077 == 0


def test_replace_is_idempotent():
    once = replace_section("", "cloudlet", {"a": "1"})
    assert replace_section(once, "cloudlet", {"a": "1"}) == once == "[cloudlet]\na = 1\n"

"""The containers-registries.conf drop-in `cloudlet up` writes for its plain-HTTP registry."""

import tomllib

from cloudlet.cli import registries_conf


def test_written_once_and_parsed_as_toml(tmp_path):
    path = tmp_path / "containers" / "registries.conf.d" / "50-cloudlet.conf"
    (tmp_path / "containers").mkdir()
    assert registries_conf.write("127.0.0.1:4566", path)
    entries = tomllib.loads(path.read_text())["registry"]
    assert entries == [{"location": "127.0.0.1:4566", "insecure": True}, {"prefix": "*.localhost", "insecure": True}]
    before = path.stat().st_mtime_ns
    assert registries_conf.write("127.0.0.1:4566", path) and path.stat().st_mtime_ns == before


def test_nothing_where_containers_is_not_configured(tmp_path):
    assert not registries_conf.write("127.0.0.1:4566", tmp_path / "none" / "registries.conf.d" / "x.conf")

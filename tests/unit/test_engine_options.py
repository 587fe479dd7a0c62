"""Run options as users type them, and the network layer's address bookkeeping."""

import pytest

from cloudlet.agent.engine import options as o
from cloudlet.agent.network import PortMapping
from cloudlet.agent.network.rules import table_script
from cloudlet.agent.network.state import allocate, free_subnet, gateway
from cloudlet.agent.runtime import BindMount, VolumeMount


@pytest.mark.parametrize("text,expected", [
    ("80", PortMapping(0, 80)),
    ("8080:80", PortMapping(8080, 80)),
    ("127.0.0.1:8080:80/udp", PortMapping(8080, 80, "udp", "127.0.0.1")),
    ("127.0.0.1::53/udp", PortMapping(0, 53, "udp", "127.0.0.1")),
])
def test_ports(text, expected):
    assert o.port(text) == expected


@pytest.mark.parametrize("text", ["", "http", "80:0", "70000:80", "1:2:3:4", "80/sctp", "1.2.3:80:80"])
def test_bad_ports(text):
    with pytest.raises(o.OptionError):
        o.port(text)


@pytest.mark.parametrize("text,size", [("512", 512), ("128m", 128 << 20), ("1.5g", 3 << 29), ("64MB", 64 << 20),
                                       ("2k", 2048)])
def test_sizes(text, size):
    assert o.size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1m", "12q"])
def test_bad_sizes(text):
    with pytest.raises(o.OptionError):
        o.size(text)


def test_volumes_env_ulimits_restart(tmp_path, monkeypatch):
    assert o.volume("/srv/data:/data:ro") == BindMount("/srv/data", "/data", True)
    assert o.volume("cache:/var/cache") == VolumeMount("cache", "/var/cache", False)
    for bad in ("nocolon", "a:relative", "/a:/b:rx"):
        with pytest.raises(o.OptionError):
            o.volume(bad)
    monkeypatch.setenv("FROM_CALLER", "yes")
    assert o.env_pair("A=b=c") == ("A", "b=c") and o.env_pair("FROM_CALLER") == ("FROM_CALLER", "yes")
    env = tmp_path / "env"
    env.write_text("# comment\nX=1\n\nY=two words\n")
    assert o.env_file(str(env)) == [("X", "1"), ("Y", "two words")]
    assert (o.ulimit("nofile=1024:2048").soft, o.ulimit("nproc=10").hard) == (1024, 10)
    assert o.restart_policy("on-failure:3") == ("on-failure", 3)
    with pytest.raises(o.OptionError):
        o.restart_policy("always:x")
    assert o.tmpfs("/run:size=64m").size == 64 << 20


def test_ipam():
    assert gateway("10.1.2.0/24") == "10.1.2.1"
    assert allocate("10.1.2.0/24", set()) == "10.1.2.2"
    assert allocate("10.1.2.0/24", {"10.1.2.2", "10.1.2.4"}) == "10.1.2.3"
    with pytest.raises(LookupError):
        allocate("10.1.2.0/30", {"10.1.2.2"})
    assert free_subnet("10.5.0.0/16", ["10.5.0.0/24", "10.5.2.0/24"]) == "10.5.1.0/24"
    assert free_subnet("10.5.0.128/25", [], 28) == "10.5.0.128/28"
    with pytest.raises(LookupError):
        free_subnet("10.5.0.0/24", ["10.5.0.0/16"])


def test_rules_stay_in_their_own_table():
    script = table_script("cltest")
    assert script.startswith("table ip cltest {") and "flush" not in script
    assert "dnat ip to meta l4proto . th dport map @ports_any" in script

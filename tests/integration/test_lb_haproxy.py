"""HAProxy run from ProxyPlans (agent/lb) on real packets: a client namespace asks a proxy
namespace, which forwards to busybox httpd servers in a third; rules, weights, checks,
runtime server changes without a reload, seamless reloads, adoption, TLS and tcp."""

import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from lb_fixtures import CLIENT_IP, PROXY_IP, PROXY_NS, SERVER_IP, Lab, in_ns

from cloudlet.agent.lb.plan import (Backend, Bind, Condition, FixedResponse, Forward, Frontend, HealthCheck, ProxyPlan,
                                    Redirect, Rule, Server)
from cloudlet.agent.lb.proxy import LbError, Proxy
from tests.hostcaps import need_binaries, need_root

pytestmark = [pytest.mark.root, pytest.mark.netns]
URL = f"http://{PROXY_IP}"
HEALTH = HealthCheck("http", interval=1, timeout=1, rise=1, fall=1, path="/cgi-bin/health")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    need_root()
    need_binaries("haproxy", "busybox", "ip", "nsenter", "curl")
    world = Lab(tmp_path_factory.mktemp("www"))
    try:
        for n, name in enumerate(("s1", "s2", "s3", "s4")):
            world.serve(name, 8001 + n)
        world.serve("sick", 8009, health="sick")
        world.serve_kept_alive("kept", 8010)
        yield world
    finally:
        world.destroy()
    assert not [ns for ns in Path("/run/netns").iterdir() if ns.name.startswith(world.client[:-1])]


@pytest.fixture
def proxy(lab):
    directory = Path(f"/tmp/lbt-{time.monotonic_ns()}")
    p = Proxy(directory, "lb-test")
    yield p
    pid = p._pid()
    p.stop()
    assert pid is None or wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=5)  # init reaps it
    assert not directory.exists()


def server(name: str, **kw) -> Server:
    return Server(name, SERVER_IP, 8000 + int(name[1:]) if name[1:].isdigit() else 8009, netns=PROXY_NS, **kw)


def plan(lab, lab_backends, default=Forward((("rr", 1),)), rules=(), frontends=()) -> ProxyPlan:
    web = Frontend("web", "http", (Bind(PROXY_IP, 80, PROXY_NS),), default, rules)
    return ProxyPlan("lb-test", (web, *frontends), tuple(lab_backends), netns=PROXY_NS)


def rr(*names, health=HEALTH, **kw) -> Backend:
    return Backend("rr", "http", tuple(server(n) for n in names), health=health, **kw)


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


def answers(lab, count: int, path: str = "/") -> Counter:
    """Who answered count requests (one curl, one connection, as many requests)."""
    return Counter(lab.get(f"{URL}{path}?[1-{count}]").split())


def test_round_robin_over_three_servers(lab, proxy):
    proxy.apply(plan(lab, [rr("s1", "s2", "s3")]))
    wait_for(lambda: all(h.state == "up" for h in proxy.health().values()))
    assert answers(lab, 30) == {"s1": 10, "s2": 10, "s3": 10}
    counted = proxy.counters()
    assert counted["frontends"]["web"]["responses"]["2xx"] >= 30
    assert counted["backends"]["rr"]["server_responses"]["2xx"] >= 30


def test_rules_pick_the_backend(lab, proxy):
    one = lambda name, server_name: Backend(name, "http", (server(server_name),))  # noqa: E731
    rules = (Rule(1, (Condition("path", ("/a/*", "/exact")),), Forward((("b1", 1),))),
             Rule(2, (Condition("host", ("*.two.TEST",)),), Forward((("b2", 1),))),
             Rule(3, (Condition("header", ("Pick-?3*",), name="X-Pick"),), Forward((("b3", 1),))),
             Rule(4, (Condition("method", ("POST",)),), Forward((("b1", 1),))),
             Rule(5, (Condition("query", pairs=(("who", "f o*"),)),), Forward((("b2", 1),))),
             Rule(6, (Condition("source", (f"{CLIENT_IP}/32",)), Condition("path", ("/src",))), Forward((("b3", 1),))))
    proxy.apply(plan(lab, [rr("s4", health=None), one("b1", "s1"), one("b2", "s2"), one("b3", "s3")], rules=rules))
    assert lab.get(f"{URL}/a/x") == "s1\n" and lab.get(f"{URL}/exact") == "s1\n"
    assert lab.get(f"{URL}/exactly") == "s4\n"  # anchored
    assert lab.get(f"{URL}/", "-H", "Host: www.Two.test:80") == "s2\n"
    assert lab.get(f"{URL}/", "-H", "x-pick: pick-x3yz") == "s3\n"
    assert lab.get(f"{URL}/", "-H", "x-pick: nope") == "s4\n"
    assert lab.get(f"{URL}/cgi-bin/slow", "-d", "x=1") == "slow-s1\n"  # (busybox: POST to CGIs only)
    assert lab.get(f"{URL}/?a=1&who=F%20O%26k") == "s2\n"  # decoded: "F O&k" matches "f o*"
    assert lab.get(f"{URL}/?who=fxo") == "s4\n"
    assert lab.get(f"{URL}/src") == "s3\n"


def test_weighted_forward_and_stickiness(lab, proxy):
    backends = [Backend("heavy", "http", (server("s1"),)), Backend("light", "http", (server("s2"),))]
    proxy.apply(plan(lab, backends, default=Forward((("heavy", 80), ("light", 20)))))
    got = answers(lab, 500)
    assert 360 <= got["s1"] <= 440 and got["s1"] + got["s2"] == 500, got
    proxy.apply(plan(lab, backends, default=Forward((("heavy", 50), ("light", 50)), sticky_seconds=60)))
    head = lab.get(f"{URL}/", "-i")
    cookie = next(line.split(":", 1)[1].split(";")[0].strip() for line in head.splitlines()
                  if line.lower().startswith("set-cookie"))
    first = head.rsplit("\n\n", 1)[1]
    assert {lab.get(f"{URL}/", "-b", cookie) for _ in range(10)} == {first}


def test_fixed_responses_and_redirects_answer_verbatim(lab, proxy):
    hostile = "it's #1 $HOME ${PATH} %[src] \\n\nsecond line\r\n\"quoted\""
    rules = (Rule(1, (Condition("path", ("/fixed",)),), FixedResponse(418, "text/plain", hostile)),
             Rule(2, (Condition("path", ("/moved/*",)),), Redirect(301, protocol="HTTPS", port="8443",
                                                                      query="x=%[src]&#{query}")),
             Rule(3, (Condition("path", ("/%[src]'$x",)),), FixedResponse(200, "text/plain", "literal")))
    proxy.apply(plan(lab, [rr("s1", health=None)], rules=rules))
    answer = lab.get(f"{URL}/fixed", "-i")
    assert answer.startswith("HTTP/1.1 418") and f"content-length: {len(hostile.encode())}" in answer
    assert answer.endswith("\n\n" + hostile.replace("\r\n", "\n"))  # (curl's text read as universal newlines)
    moved = lab.get(f"{URL}/moved/here?a=b", "-i", "-H", "Host: www.example.test")
    assert moved.startswith("HTTP/1.1 301")
    location = next(line for line in moved.splitlines() if line.lower().startswith("location:"))
    assert location.split(" ", 1)[1].strip() == "https://www.example.test:8443/moved/here?x=%[src]&a=b"
    assert lab.get(f"{URL}/{CLIENT_IP}'$x", "-g") != "literal"  # a pattern is no fetch...
    assert lab.get(f"{URL}/%[src]'$x", "-g") == "literal"  # ... it is matched as written


def test_checks_see_dead_and_failing_servers(lab, proxy):
    lab.serve("s7", 8007)
    proxy.apply(plan(lab, [Backend("rr", "http", (server("s1"), server("s7"), Server("sick", SERVER_IP, 8009, netns=PROXY_NS)),
                                   health=HEALTH)]))
    wait_for(lambda: proxy.health()[("rr", "sick")].state == "down")
    sick = proxy.health()[("rr", "sick")]
    assert (sick.check, sick.code) == ("L7STS", 500)
    lab.kill("s7")
    wait_for(lambda: proxy.health()[("rr", "s7")].state == "down")
    assert proxy.health()[("rr", "s7")].check == "L4CON"
    assert set(answers(lab, 10)) == {"s1"}


def test_servers_change_without_a_reload_and_drain(lab, proxy):
    proxy.apply(plan(lab, [rr("s1")]))
    worker = proxy.runtime.worker()
    proxy.apply(plan(lab, [rr("s1", "s2")]))
    wait_for(lambda: proxy.health()[("rr", "s2")].state == "up")
    assert set(answers(lab, 10)) == {"s1", "s2"}
    slow = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.client}", "--", "curl", "-s", f"{URL}/cgi-bin/slow"],
                            stdout=subprocess.PIPE, text=True)
    wait_for(lambda: any(proxy.counters()["backends"]["rr"]["connections_current"] for _ in [0]))
    busy = next(r["svname"] for r in proxy.runtime.stat() if r["svname"] in ("s1", "s2") and r["scur"] != "0")
    other = {"s1": "s2", "s2": "s1"}[busy]
    proxy.apply(plan(lab, [Backend("rr", "http", (server(busy, draining=True), server(other)), health=HEALTH)]))
    assert proxy.health()[("rr", busy)].state == "drain"
    assert set(answers(lab, 10)) == {other}
    assert slow.communicate(timeout=10)[0] == f"slow-{busy}\n"
    proxy.apply(plan(lab, [rr(other)]))  # gone from the plan, and idle: deleted
    wait_for(lambda: proxy.apply(plan(lab, [rr(other)])) or ("rr", busy) not in proxy.health(), timeout=15)
    assert proxy.runtime.worker() == worker  # all of it without a reload


def test_held_servers_take_nothing_until_their_checks_pass_the_threshold(lab, proxy):
    twice = HealthCheck("http", interval=2, timeout=1, rise=2, fall=1, path="/cgi-bin/health")
    state = lambda name: (proxy.health()[("rr", name)].state, proxy.health()[("rr", name)].check)  # noqa: E731
    proxy.apply(plan(lab, [Backend("rr", "http", (server("s1", held=True),), health=twice)]))  # a new process
    assert state("s1")[0] != "up" and lab.get(URL, "-o", "/dev/null", "-w", "%{http_code}") == "503"
    wait_for(lambda: state("s1") == ("up", "L7OK"))
    proxy.apply(plan(lab, [Backend("rr", "http", (server("s1"), server("s2", held=True)), health=twice)]))  # added
    wait_for(lambda: state("s2") == ("down", "L7OK"))  # one check passed of the two
    assert set(answers(lab, 6)) == {"s1"}
    wait_for(lambda: state("s2")[0] == "up")  # and takes traffic with no other change
    assert set(answers(lab, 6)) == {"s1", "s2"}


def test_backups_take_requests_only_while_no_server_is_up(lab, proxy):
    proxy.apply(plan(lab, [rr("sick")]))
    wait_for(lambda: proxy.health()[("rr", "sick")].state == "down")
    assert lab.get(URL, "-o", "/dev/null", "-w", "%{http_code}") == "503"
    twin = Server("sick_open", SERVER_IP, 8009, netns=PROXY_NS, backup=True)  # added at runtime, never checked
    proxy.apply(plan(lab, [Backend("rr", "http", (server("sick"), twin), health=HEALTH)]))
    assert answers(lab, 4) == Counter({"sick": 4})  # failing open
    proxy.apply(plan(lab, [Backend("rr", "http", (server("sick"), twin, server("s1")), health=HEALTH)]))
    wait_for(lambda: proxy.health()[("rr", "s1")].state == "up")
    assert answers(lab, 6) == Counter({"s1": 6})


def test_a_server_added_at_runtime_keeps_its_connections_for_later_requests(lab, proxy):
    proxy.apply(plan(lab, [rr("s1")]))
    worker = proxy.runtime.worker()
    kept = Server("kept", SERVER_IP, 8010, netns=PROXY_NS)
    proxy.apply(plan(lab, [Backend("rr", "http", (server("s1", draining=True), kept), health=HEALTH)]))
    wait_for(lambda: proxy.health()[("rr", "kept")].state == "up")
    assert answers(lab, 40) == Counter({"kept": 40})
    row = next(r for r in proxy.runtime.stat() if (r["pxname"], r["svname"]) == ("rr", "kept"))
    # haproxy 2.6 gives a server made by `add server` no idle pool unless told: a connect per request
    assert int(row["reuse"]) >= 30 and int(row["connect"]) <= 10, row
    assert proxy.runtime.worker() == worker


def test_reload_for_a_rule_drops_no_connection_and_a_refused_plan_changes_nothing(lab, proxy):
    first = plan(lab, [rr("s1", health=None)])
    proxy.apply(first)
    worker = proxy.runtime.worker()
    slow = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.client}", "--", "curl", "-s", f"{URL}/cgi-bin/slow"],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    rule = Rule(1, (Condition("path", ("/new",)),), FixedResponse(200, "text/plain", "new rule"))
    proxy.apply(plan(lab, [rr("s1", health=None)], rules=(rule,)))
    assert proxy.runtime.worker() != worker
    assert lab.get(f"{URL}/new") == "new rule"
    assert slow.communicate(timeout=10)[0] == "slow-s1\n"
    https = Frontend("tls", "http", (Bind(PROXY_IP, 443, PROXY_NS, certificates=("/nonexistent/cert.pem",)),), Forward((("rr", 1),)))
    with pytest.raises(LbError, match="cert"):
        proxy.apply(plan(lab, [rr("s1", health=None)], rules=(rule,), frontends=(https,)))
    assert lab.get(f"{URL}/new") == "new rule"


def test_a_new_proxy_adopts_the_running_one_and_stop_ends_it(lab, proxy):
    wanted = plan(lab, [rr("s1", health=None)])
    proxy.apply(wanted)
    master, worker = proxy._pid(), proxy.runtime.worker()
    again = Proxy(proxy.directory, "lb-test")
    assert again.running()
    again.apply(wanted)
    assert (again._pid(), again.runtime.worker()) == (master, worker)
    again.stop()
    assert wait_for(lambda: not Path(f"/proc/{master}").exists() and not Path(f"/proc/{worker}").exists(), 5)
    assert not again.running() and not proxy.directory.exists()


def self_signed(directory: Path, name: str) -> str:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-days", "1",
                    "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(directory / "key"),
                    "-out", str(directory / "crt")], check=True, capture_output=True)
    pem = directory / f"{name}.pem"
    pem.write_bytes((directory / "crt").read_bytes() + (directory / "key").read_bytes())
    return str(pem)


def served_to(lab, name: str) -> str:
    """The subject of the certificate the proxy's TLS bind shows a client that asks for name."""
    shown = in_ns(lab.client, "openssl", "s_client", "-connect", "127.0.0.1:8443", "-servername", name, input="")
    return re.search(r"^subject=(.*)$", shown.stdout, re.M).group(1)


def test_https_in_another_namespace_by_name_and_tcp_pass_through(lab, proxy, tmp_path):
    pems = (self_signed(tmp_path, "lb.test"), self_signed(tmp_path, "shop.test"))
    tls = Frontend("tls", "http", (Bind("127.0.0.1", 8443, netns=lab.client, certificates=pems),), Forward((("rr", 1),)))
    tcp = Frontend("raw", "tcp", (Bind(PROXY_IP, 9000, PROXY_NS),), Forward((("t", 1),)))
    proxy.apply(plan(lab, [rr("s1", health=None), Backend("t", "tcp", (server("s2"),))], frontends=(tls, tcp)))
    assert lab.get("https://127.0.0.1:8443/", "-k") == "s1\n"
    # the certificate whose name the client asks for (SNI), else the first
    assert [served_to(lab, name) for name in ("shop.test", "lb.test", "other.test")] == [
        "CN = shop.test", "CN = lb.test", "CN = lb.test"]
    raw = in_ns(lab.client, "busybox", "sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc {PROXY_IP} 9000")
    assert raw.stdout.startswith("HTTP/1.") and raw.stdout.endswith("s2\n")

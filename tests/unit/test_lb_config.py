"""The haproxy.cfg renderer: what plans become, and that no tenant string can add a line, a
directive, a comment, a variable or a fetch of its own."""

import re
from pathlib import Path

import pytest

from cloudlet.agent.lb.acls import acl_lines
from cloudlet.agent.lb.config import render, status_regex
from cloudlet.agent.lb.errors import LbError
from cloudlet.agent.lb.plan import (Backend, Bind, Condition, FixedResponse, Forward, Frontend, HealthCheck, ProxyPlan,
                                    Redirect, Rule, Server)
from cloudlet.agent.lb.words import quote

HOSTILE = ["a\nbind 0.0.0.0:1", "x' #y", 'q"uote', "back\\slash\\", "%[src]", "${HOME}$PATH", "-f /etc/passwd",
           "tab\there", "z" * 5000]
DIR = Path("/run/lb/x")


def plan_with(condition=None, action=None, health=None) -> ProxyPlan:
    rules = (Rule(1, (condition,), action or Forward((("b", 1),))),) if condition else ()
    web = Frontend("web", "http", (Bind("10.0.0.1", 80),), action if action and not condition else Forward((("b", 1),)),
                   rules)
    return ProxyPlan("lb", (web,), (Backend("b", "http", (Server("s1", "10.0.1.5", 8080),), health=health),))


def unquoted(line: str) -> str:
    """What haproxy reads as syntax in line: each run of single-quoted text and backslash
    escapes (one word's literal parts) becomes ''."""
    return re.sub(r"(?:'[^']*'|\\.)+", "''", line)


def directives(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines()]


def test_a_plan_renders_as_expected():
    rules = (Rule(2, (Condition("path", ("/api/*",)),), Forward((("b", 80), ("c", 20)))),
             Rule(1, (Condition("host", ("*.example.com",)),), Redirect(301, protocol="HTTPS")))
    web = Frontend("web", "http", (Bind("10.0.0.1", 443, netns="ns1", certificates=("/d/c.pem", "/d/more.pem")),),
                   FixedResponse(404, "text/plain", "none"), rules, idle_timeout=30)
    health = HealthCheck("http", 5, 2, 3, 2, path="/health", port=9000, codes="200-299")
    servers = (Server("s1", "10.0.1.5", 8080, netns="ns1", weight=3), Server("s2", "fd00::5", 8080, netns="other"),
               Server("s1_open", "10.0.1.5", 8080, netns="ns1", backup=True))
    backends = (Backend("b", "http", servers, health=health), Backend("c", "http"))
    out = render(ProxyPlan("lb", (web,), backends), DIR, "ns1")
    text = out.text
    assert "    bind 10.0.0.1:443 ssl crt '/d/c.pem' crt '/d/more.pem'" in text  # ns1 is home: no namespace keyword
    assert "    timeout client 30s" in text and "    timeout server 30s" in text
    assert "    acl r1c0 req.hdr(host) -m reg -i -- '^.*\\.example\\.com(?::[0-9]+)?$'" in text
    assert "    acl r2c0 path -m reg -- '^/api/.*$'" in text and "    acl r2c0 path,url_dec -m reg -- '^/api/.*$'" in text
    # priority 1 (the host redirect) is rule 1 whatever the order given
    assert "code 301 if { var(txn.lbrule) -m int 1 }" in text
    assert "    use_backend b if { var(txn.lbrule) -m int 2 } { rand(100) -m int lt 80 }" in text
    assert "    use_backend c if { var(txn.lbrule) -m int 2 }" in text
    assert "http-request return status 404 content-type 'text/plain' file '/run/lb/x/body-" in text
    assert list(out.bodies.values()) == [b"none"]
    assert "    http-check expect rstatus '^(?:2[0-9][0-9])$'" in text or "rstatus '^(?:20[0-9]|" in text
    assert "    default-server check inter 5s rise 3 fall 2 port 9000 pool-max-conn 256 pool-purge-delay 5s" in text
    assert "    server s1 10.0.1.5:8080 weight 3" in text
    assert "    server s2 [fd00::5]:8080 weight 1 namespace other" in text
    assert "    server s1_open 10.0.1.5:8080 weight 1 backup no-check" in text and "    option allbackups" in text
    # the skeleton keeps what only a reload changes: s2 (a namespace of its own), not s1
    assert "server s2" in out.skeleton and "server s1" not in out.skeleton


def test_status_codes_become_a_compact_regex():
    assert status_regex("200") == "^(?:20[0])$"
    assert status_regex("200,202") == "^(?:20[02])$"
    assert re.fullmatch(status_regex("200-299,302"), "250") and not re.fullmatch(status_regex("200-299,302"), "301")
    for bad in ("", "2xx", "99", "200-100", "600", "200;reboot"):
        with pytest.raises(LbError):
            status_regex(bad)


def test_quoting_keeps_a_word_one_word():
    assert quote("it's") == "'it'\\''s'"
    with pytest.raises(LbError):
        quote("a\nb")


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("kind", ["path", "host", "header", "method", "query", "source", "header-name"])
def test_hostile_condition_values_are_quoted_or_refused(kind, value):
    if kind == "query":
        condition = Condition("query", pairs=((value, value), (None, value)))
    elif kind == "header-name":
        condition = Condition("header", ("v",), name=value)
    else:
        condition = Condition(kind, (value,), name="x-h" if kind == "header" else None)
    try:
        lines = acl_lines("r1c0", condition)
    except LbError:
        return
    assert kind in ("path", "host", "header", "query") and "\n" not in value and "\t" not in value
    for line in lines:
        assert "\n" not in line
        # outside quotes: the acl, its fetch, its flags, `--`, and one quoted pattern
        assert re.fullmatch(r"acl r1c0 \S+ -m (reg|str)( -i)? -- ''", unquoted(line)), line


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_actions_add_no_directive(value):
    benign = render(plan_with(action=Redirect(302, host="h", path="/p", query="q")), DIR, None).text
    for action in (Redirect(302, host=value, path="/" + value, query=value), FixedResponse(200, value, value),
                   FixedResponse(200, "text/plain", value)):
        try:
            out = render(plan_with(action=action), DIR, None)
        except LbError:
            continue
        assert directives(out.text) == directives(benign)
        assert all("$" not in unquoted(line) and "#" not in unquoted(line) for line in out.text.splitlines())
        if isinstance(action, FixedResponse) and action.content_type == "text/plain":
            assert list(out.bodies.values()) == [value.encode()]  # bodies go to a file, verbatim
        if isinstance(action, Redirect) and "%[src]" in value:
            assert "%%[src]" in out.text and "%[src]" not in out.text.replace("%%[src]", "")


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_health_check_paths_and_names_are_refused_or_quoted(value):
    for health in (HealthCheck("http", 5, 2, 3, 2, path="/" + value), HealthCheck("http", 5, 2, 3, 2, codes=value)):
        try:
            out = render(plan_with(health=health), DIR, None)
        except LbError:
            continue
        assert all("$" not in unquoted(line) and "#" not in unquoted(line) for line in out.text.splitlines())
    for plan in (ProxyPlan("lb", (), (Backend(value, "http"),)),
                 ProxyPlan("lb", (), (Backend("b", "http", (Server(value, "10.0.0.1", 80),)),)),
                 ProxyPlan("lb", (), (Backend("b", "http", (Server("s", value, 80),)),)),
                 ProxyPlan("lb", (), (Backend("b", "http", (Server("s", "10.0.0.1", 80, netns=value),)),))):
        with pytest.raises(LbError):
            render(plan, DIR, None)


@pytest.mark.parametrize("bad", [
    Forward((("nowhere", 1),)), Forward((("b", 0),)), Forward((("b", -1),)), Redirect(307), Redirect(301, path="x"),
    Redirect(301, protocol="ftp"), FixedResponse(99), FixedResponse(200, body="x" * 5000)])
def test_actions_that_cannot_be_rendered_are_refused(bad):
    with pytest.raises(LbError):
        render(plan_with(action=bad), DIR, None)


def test_tcp_frontends_only_forward_and_mismatched_modes_are_refused():
    tcp = Frontend("t", "tcp", (Bind("10.0.0.1", 9000),), FixedResponse(200))
    with pytest.raises(LbError, match="only forward"):
        render(ProxyPlan("lb", (tcp,), (Backend("b", "tcp"),)), DIR, None)
    mixed = Frontend("t", "tcp", (Bind("10.0.0.1", 9000),), Forward((("b", 1),)))
    with pytest.raises(LbError, match="not in tcp mode"):
        render(ProxyPlan("lb", (mixed,), (Backend("b", "http"),)), DIR, None)
    with pytest.raises(LbError, match="host's namespace"):  # a proxy in ns1 cannot name the host's
        render(ProxyPlan("lb", (mixed,), (Backend("b", "tcp"),)), DIR, "ns1")

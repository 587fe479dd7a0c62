"""Bundle generation and the pure parts of the runtime: no root, no runc."""

import resource

import pytest

from cloudlet.agent.runtime import ContainerSpec, IdMap, Resources, Ulimit
from cloudlet.agent.runtime.cgroups import linux_resources
from cloudlet.agent.runtime.logs import read_logs
from cloudlet.agent.runtime.oci import (SpecError, build_config, capabilities, parse_signal,
                                        process_args, user_mounts)
from cloudlet.agent.runtime.rlimits import UlimitError, clamp_rlimits
from cloudlet.agent.runtime.seccomp import default_profile
from cloudlet.agent.runtime.spec import DEFAULT_CAPABILITIES, TmpfsMount
from cloudlet.agent.runtime.users import User, UserError, path_in_root, resolve_user


def _spec(**kw):
    return ContainerSpec(id="abc123", layers=[], **kw)


@pytest.mark.parametrize("image,kw,args", [
    ({"Entrypoint": ["ep"], "Cmd": ["c1"]}, {}, ["ep", "c1"]),
    ({"Entrypoint": ["ep"], "Cmd": ["c1"]}, {"command": ["x"]}, ["ep", "x"]),
    ({"Entrypoint": ["ep"], "Cmd": ["c1"]}, {"entrypoint": ["new"]}, ["new"]),
    ({"Entrypoint": ["ep"], "Cmd": ["c1"]}, {"entrypoint": [], "command": ["sh"]}, ["sh"]),
    ({"Cmd": ["c1", "c2"]}, {}, ["c1", "c2"]),
])
def test_process_args_follow_docker(image, kw, args):
    assert process_args(_spec(image_config=image, **kw)) == args


def test_no_command_at_all_is_refused():
    with pytest.raises(SpecError):
        process_args(_spec())


def test_capabilities_add_drop():
    assert capabilities([], []) == DEFAULT_CAPABILITIES
    caps = capabilities(["net_admin"], ["CAP_CHOWN", "mknod"])
    assert "CAP_NET_ADMIN" in caps and "CAP_CHOWN" not in caps and "CAP_MKNOD" not in caps
    assert capabilities(["kill"], ["ALL"]) == ["CAP_KILL"]
    assert "CAP_SYS_ADMIN" in capabilities(["ALL"], [])
    with pytest.raises(SpecError):
        capabilities(["CAP_BOGUS"], [])


def test_signals():
    assert parse_signal("SIGTERM") == 15 and parse_signal("usr1") == 10 and parse_signal("9") == 9
    with pytest.raises(SpecError):
        parse_signal("SIGNOPE")


def test_config_namespaces_env_and_security():
    spec = _spec(image_config={"Cmd": ["sh"], "Env": ["PATH=/x", "A=1"]}, env={"A": "2"},
                 network="/run/netns/n1", uid_map=[IdMap(0, 100000, 65536)],
                 gid_map=[IdMap(0, 100000, 65536)], resources=Resources(memory=64 << 20))
    cfg = build_config(spec, rootfs="/r", user=User(0, 0, [], "/root"), mounts=[], rlimits=[],
                       cgroups_path="/cloudlet/abc123")
    ns = {n["type"]: n.get("path") for n in cfg["linux"]["namespaces"]}
    assert ns == {"pid": None, "mount": None, "ipc": None, "uts": None,
                  "network": "/run/netns/n1", "user": None}
    assert cfg["hostname"] == "abc123"
    assert cfg["process"]["env"] == ["PATH=/x", "HOSTNAME=abc123", "A=2", "HOME=/root"]
    assert cfg["process"]["noNewPrivileges"] is True
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert "/proc/kcore" in cfg["linux"]["maskedPaths"] and "/proc/sys" in cfg["linux"]["readonlyPaths"]
    sys_mount = next(m for m in cfg["mounts"] if m["destination"] == "/sys")
    assert "rbind" in sys_mount["options"]  # a joined netns: sysfs cannot be mounted in a userns
    assert cfg["linux"]["resources"]["memory"]["limit"] == 64 << 20


def test_host_network_shares_uts_and_netns():
    cfg = build_config(_spec(command=["sh"], network="host"), rootfs="/r", user=User(0, 0, [], "/"),
                       mounts=[], rlimits=[], cgroups_path="/c")
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "network" not in types and "uts" not in types and "hostname" not in cfg


def test_resources_to_cgroup_v1():
    r = linux_resources(Resources(cpus=1.5, cpu_shares=256, pids_limit=50))
    assert r["cpu"] == {"shares": 256, "quota": 150000, "period": 100000}
    assert r["pids"] == {"limit": 50}
    assert r["devices"] == [{"allow": False, "access": "rwm"}]
    with pytest.raises(ValueError):
        linux_resources(Resources(memory=1024))


def test_user_mounts_parents_first():
    out = user_mounts([("/h/a", "/data/sub", False), ("/h/b", "/data", True)], [TmpfsMount("/t", size=4096)])
    assert [m["destination"] for m in out] == ["/data", "/t", "/data/sub"]
    assert "ro" in out[0]["options"] and "size=4096" in out[1]["options"]
    with pytest.raises(SpecError):
        user_mounts([("/h", "relative", False)], [])


def test_rlimits_clamped_with_a_warning():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limits, warnings = clamp_rlimits([Ulimit("nofile", hard + 1, hard + 1), Ulimit("core", 0, 0)])
    nofile = next(r for r in limits if r["type"] == "RLIMIT_NOFILE")
    assert (nofile["soft"], nofile["hard"]) == (hard, hard)
    assert len(warnings) == 1 and "nofile" in warnings[0]
    with pytest.raises(UlimitError):
        clamp_rlimits([Ulimit("nosuch", 1, 1)])
    with pytest.raises(UlimitError):
        clamp_rlimits([Ulimit("core", 5, 1)])


def test_seccomp_gates_on_capabilities():
    plain = default_profile(DEFAULT_CAPABILITIES)
    allowed = set(plain["syscalls"][0]["names"])
    assert plain["defaultAction"] == "SCMP_ACT_ERRNO"
    assert {"read", "execve", "chroot"} <= allowed and not {"mount", "unshare", "reboot"} & allowed
    clone3 = next(r for r in plain["syscalls"] if r["names"] == ["clone3"])
    assert clone3["action"] == "SCMP_ACT_ERRNO" and clone3["errnoRet"] == 38
    admin = default_profile(DEFAULT_CAPABILITIES + ["CAP_SYS_ADMIN"])
    assert {"mount", "unshare", "clone3"} <= set(admin["syscalls"][0]["names"])


def test_users_from_the_image(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
    (tmp_path / "etc/group").write_text("app:x:1000:\nwheel:x:10:app\n")
    assert resolve_user(tmp_path, None) == User(0, 0, [], "/root")
    assert resolve_user(tmp_path, "app") == User(1000, 1000, [10], "/home/app")
    assert resolve_user(tmp_path, "1000:wheel").gid == 10
    assert resolve_user(tmp_path, "77:88") == User(77, 88, [], "/")
    with pytest.raises(UserError):
        resolve_user(tmp_path, "ghost")


def test_path_in_root_never_leaves_the_root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").symlink_to("/etc/shadow")
    (tmp_path / "up").symlink_to("../../../..")
    assert path_in_root(tmp_path, "/etc/passwd") == tmp_path / "etc/shadow"
    assert path_in_root(tmp_path, "/up/etc") == tmp_path / "etc"


def test_k8s_file_partial_lines_and_tail(tmp_path):
    log = tmp_path / "ctr.log"
    log.write_text("2026-01-01T00:00:00.1Z stdout P hel\n"
                   "2026-01-01T00:00:00.2Z stderr F oops\n"
                   "2026-01-01T00:00:00.3Z stdout F lo\n"
                   "2026-01-01T00:00:00.4Z stdout F \n"
                   "2026-01-01T00:00:00.5Z stdout P unfinished\n")
    lines = [(ln.time, ln.stream, ln.text) for ln in read_logs(log)]
    assert lines == [("2026-01-01T00:00:00.2Z", "stderr", "oops"),
                     ("2026-01-01T00:00:00.1Z", "stdout", "hello"),
                     ("2026-01-01T00:00:00.4Z", "stdout", ""),
                     ("2026-01-01T00:00:00.5Z", "stdout", "unfinished")]
    assert [ln.text for ln in read_logs(log, tail=2)] == ["", "unfinished"]
    assert list(read_logs(tmp_path / "missing")) == []


def test_restart_back_off():
    from cloudlet.agent.runtime.records import Record
    from cloudlet.agent.runtime.restart import _ts, restart_at

    def rec(**kw):
        base = dict(id="c", name="c", created_at="2026-01-01T00:00:00Z", cgroups_path="/c",
                    stop_signal=15, stop_timeout=10, restart_policy="always",
                    started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z", exit_code=1)
        base.update(kw)
        return Record(**base)

    end = _ts("2026-01-01T00:00:01Z")
    assert restart_at(rec()) == pytest.approx(end + 0.1)
    assert restart_at(rec(restart_count=3)) == pytest.approx(end + 0.8)
    assert restart_at(rec(restart_count=30)) == pytest.approx(end + 60)
    assert restart_at(rec(finished_at="2026-01-01T00:00:30Z")) == _ts("2026-01-01T00:00:30Z")
    assert restart_at(rec(manually_stopped=True)) is None
    assert restart_at(rec(restart_policy="no")) is None
    assert restart_at(rec(restart_policy="on-failure", exit_code=0)) is None
    assert restart_at(rec(restart_policy="on-failure", max_retries=2, restart_count=2)) is None
    assert restart_at(rec(restart_policy="on-failure", max_retries=2, restart_count=1)) is not None

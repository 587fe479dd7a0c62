"""Runtime: containers from unpacked layers, run by runc under conmon, truth kept on disk.

Layout under root_dir (everything a restarted agent needs to re-adopt its containers):

    containers/<id>/   the OCI bundle: config.json, cloudlet.json (our record),
                       ctr.log (k8s-file), persist/ (conmon), volumes/ (anonymous)
    snapshots/<id>/    the overlay root filesystem
    volumes/<name>/    named volumes, which outlive containers
    exits/<id>         conmon's exit code file
    events.jsonl       the event stream (create, start, kill, stop, oom, die, destroy)
    runc/              runc's state root, ours alone
    sock/              conmon's attach-socket links
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..snapshots import Snapshotter
from ..steps import step
from . import oci
from .cgroups import PARENT, Cgroup
from .errors import ContainerConflict, ContainerError, ContainerNotFound, OCIError
from .events import Event, EventLog
from .exec import ExecResult, exec_process
from .idranges import IdRanges, maps
from .logs import LogLine, read_logs
from .records import Record, iso, now
from .restart import check_policy, restart_at
from .rlimits import clamp_rlimits
from .runc import Conmon, Runc, conmon_pid, wait_conmon_gone
from .spec import ContainerSpec
from .stats import Counters, Stats, counters, sample
from .users import host_root, resolve_user
from .volumes import prepare_mounts

log = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_UNIX_PATH_MAX = 107  # sun_path, less its NUL: conmon binds <sock>/<id>/attach
MOUNTS = Path("/run/cloudlet/roots")  # containers' root mount points (see snapshots/overlay.py)




@dataclass
class ContainerState:
    id: str
    name: str
    status: str                  # "created", "running", "paused" or "exited"
    pid: int | None
    exit_code: int | None
    oom_killed: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    restart_count: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)  # what its root stacks: image prune must keep them


class Runtime:
    def __init__(self, root_dir: str | os.PathLike, *, runc: str | None = None, conmon: str | None = None):
        self.root = Path(root_dir)
        self.containers = self.root / "containers"
        self.exits = self.root / "exits"
        self.sockets = self.root / "sock"
        self.volumes = self.root / "volumes"
        for d in (self.containers, self.exits, self.sockets, self.volumes):
            d.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]
        self.snapshots = Snapshotter(self.root / "snapshots", mounts=MOUNTS / digest)
        self.id_ranges = IdRanges(self.root, lambda: {rec.userns for rec in self.records()})
        self.runc = Runc(self.root / "runc", runc)
        self.conmon = Conmon(self.runc, conmon)
        self.event_log = EventLog(self.root / "events.jsonl")

    # -- lifecycle -------------------------------------------------------------------

    def create(self, spec: ContainerSpec) -> ContainerState:
        """Prepare the root filesystem and the bundle; nothing runs until start()."""
        if not _ID.match(spec.id):
            raise ContainerError(f"invalid container id {spec.id!r}")
        if len(str(self.sockets)) + len(spec.id) + len("//attach") > _UNIX_PATH_MAX:
            raise ContainerError(f"runtime root {self.root} is too long for conmon's socket paths")
        bundle = self.containers / spec.id
        try:
            bundle.mkdir()
        except FileExistsError:
            raise ContainerConflict(f"container {spec.id} already exists") from None
        try:
            pin = None
            if spec.uid_map and not spec.userns:
                raise ContainerError("a user namespace is asked for by its key (userns): its ids are the runtime's")
            if spec.userns:
                host_id, pin = self.id_ranges.claim(spec.userns)
                spec = dataclasses.replace(spec, uid_map=maps(host_id), gid_map=maps(host_id))
            owner = host_root(spec.uid_map, spec.gid_map)
            with step("overlay mount"):
                rootfs = self.snapshots.prepare(spec.id, spec.layers, owner=owner, userns=pin)
            with step("user and mounts"):
                user = resolve_user(rootfs, spec.user or spec.image_config.get("User"))
                mounts = prepare_mounts(spec, rootfs=rootfs, bundle=bundle, volumes_root=self.volumes, owner=owner)
            rlimits, warnings = clamp_rlimits(spec.ulimits)
            for w in warnings:
                log.warning("container %s: %s", spec.id, w)
            check_policy(spec.restart_policy, spec.max_retries)
            cgroups_path = f"/{PARENT}/{spec.id}"
            with step("OCI config (seccomp profile)"):
                config = oci.build_config(spec, rootfs=str(rootfs), user=user, mounts=mounts,
                                          rlimits=rlimits, cgroups_path=cgroups_path, userns_path=pin)
                oci.write_json(bundle / "config.json", config)
            rec = Record(id=spec.id, name=spec.name or spec.id, created_at=now(),
                         cgroups_path=cgroups_path, stop_signal=oci.stop_signal(spec),
                         stop_timeout=spec.stop_timeout, labels=dict(spec.labels), warnings=warnings,
                         restart_policy=spec.restart_policy, max_retries=spec.max_retries,
                         layers=[str(p) for p in spec.layers], rootfs_owner=list(owner) if owner else None,
                         userns=spec.userns, userns_host_id=spec.uid_map[0].host_id if pin else None)
            rec.save(bundle)
        except BaseException:
            self._remove_files(spec.id)  # the key's range stays: its owner releases it
            raise
        self.event_log.emit(rec.id, rec.name, "create")
        return self._state(rec)

    def start(self, cid: str) -> ContainerState:
        """Run the container; one that has exited starts again on its own filesystem."""
        rec = self._record(cid)
        if self._state(rec).status in ("running", "paused"):
            raise ContainerConflict(f"container {cid} is already running")
        rec.restart_count, rec.manually_stopped = 0, False
        return self._start(rec)

    def restart_exited(self) -> list[str]:
        """Start again each exited container whose restart policy asks for it and whose
        back-off has passed. The agent calls this every few tenths of a second; it
        returns the ids it restarted."""
        restarted = []
        for st in self.list():
            rec = self._record(st.id) if st.status == "exited" else None
            at = restart_at(rec) if rec else None
            if at is None or at > time.time():
                continue
            rec.restart_count += 1
            try:
                self._start(rec)
                restarted.append(rec.id)
            except ContainerError as e:
                log.warning("restarting container %s: %s", rec.id, e)
                # Keep the last exit on record, count the attempt so back-off grows.
                failed = self._record(rec.id)
                failed.restart_count = rec.restart_count
                failed.save(self.containers / rec.id)
        return restarted

    def _start(self, rec: Record) -> ContainerState:
        cid = rec.id
        bundle = self.containers / cid
        if rec.started_at:
            wait_conmon_gone(bundle / "conmon.pid", cid)  # the last run's conmon still holds the log
            self.runc.delete(cid)
            rec.finished_at, rec.exit_code, rec.oom_killed = None, None, False
        self._clear_last_run(cid, bundle)
        # Mounted since create, unless the host rebooted meanwhile: then mount it again.
        self.snapshots.prepare(cid, rec.layers, owner=tuple(rec.rootfs_owner) if rec.rootfs_owner else None,
                               userns=self._userns_of(rec))
        try:
            with step("conmon and runc create"):
                pid = self._launch(rec, bundle)
        except OCIError as e:
            if "already exists" not in str(e):
                raise
            # A start killed between runc create and our record of it: clear that, start again.
            self.runc.delete(cid)
            wait_conmon_gone(bundle / "conmon.pid", cid)
            self._clear_last_run(cid, bundle)
            pid = self._launch(rec, bundle)
        if rec.rootfs_owner:
            give_stdio(pid, *rec.rootfs_owner)
        rec.started_at = now()
        rec.save(bundle)
        try:
            with step("runc start"):
                self.runc.start(cid)
        except ContainerError:
            self.runc.kill(cid, 9)
            self.wait(cid, timeout=5)
            raise
        self.event_log.emit(cid, rec.name, "start", restartCount=rec.restart_count)
        # runc has just said so: no need to ask it again (a runc call costs milliseconds).
        return self._state(rec, {cid: {"status": "running", "pid": pid}})

    def user_namespace(self, key: str) -> str:
        """The file of key's user namespace (claimed now if need be), for what must exist in
        it before its containers do: their network namespace."""
        return self.id_ranges.claim(key)[1]

    def _userns_of(self, rec: Record) -> str | None:
        """The user namespace a container was made in, pinned again if a reboot unpinned it."""
        if not rec.userns:
            return None
        host_id, pin = self.id_ranges.claim(rec.userns, prefer=rec.userns_host_id)
        if host_id != rec.userns_host_id:
            self.release_user_namespace(rec.userns)
            raise ContainerError(f"container {rec.id}'s user namespace ids went to another since it was made: "
                                 "remove it and run it again")
        return pin

    def _clear_last_run(self, cid: str, bundle: Path) -> None:
        """What a previous run's conmon left: its exit code, OOM marks, pid files."""
        (self.exits / cid).unlink(missing_ok=True)
        for stale in ("pidfile", "conmon.pid", "persist/exit", "persist/oom", "oom"):
            (bundle / stale).unlink(missing_ok=True)

    def _launch(self, rec: Record, bundle: Path) -> int:
        return self.conmon.launch(cid=rec.id, name=rec.name, bundle=bundle, log_path=bundle / "ctr.log",
                                  exit_dir=self.exits, socket_dir=self.sockets)

    def run(self, spec: ContainerSpec) -> ContainerState:
        self.create(spec)
        try:
            return self.start(spec.id)
        except BaseException:
            self.delete(spec.id, force=True)
            raise

    def kill(self, cid: str, signal: str | int = "SIGKILL") -> None:
        rec = self._record(cid)
        signum = oci.parse_signal(signal)
        if not self.runc.kill(cid, signum):
            raise ContainerConflict(f"container {cid} is not running")
        self.event_log.emit(cid, rec.name, "kill", signal=signum)

    def stop(self, cid: str, timeout: float | None = None) -> int | None:
        """Stop signal, up to `timeout` (the container's own by default) seconds to
        exit, then SIGKILL. Returns the exit code."""
        rec = self._record(cid)
        rec.manually_stopped = True
        rec.save(self.containers / cid)
        code = None
        if self._state(rec).status in ("running", "paused"):
            grace = rec.stop_timeout if timeout is None else timeout
            if grace > 0 and self.runc.kill(cid, rec.stop_signal):
                code = self.wait(cid, timeout=grace)
            if code is None:
                # --all: a paused or stuck init may not pass SIGKILL on in time.
                self.runc.kill(cid, 9, all_processes=True)
            self.event_log.emit(cid, rec.name, "stop")
        return code if code is not None else self.wait(cid, timeout=10)

    def wait(self, cid: str, timeout: float | None = None) -> int | None:
        """The exit code once the container has exited, or None if timeout passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        # A container that just started is running: asking runc at once would only cost
        # time on the short runs where speed matters.
        delay, next_full_check = 0.002, time.monotonic() + 0.25
        while True:
            rec = self._record(cid)
            if not rec.started_at:
                raise ContainerConflict(f"container {cid} has not been started")
            # The exit file is cheap to look for; asking runc (a process) is not, and is
            # only needed to notice a conmon that died without writing one.
            self._observe_exit(rec)
            if rec.exit_code is not None:
                return rec.exit_code
            if time.monotonic() >= next_full_check:
                if self._state(rec).status == "exited":
                    return rec.exit_code
                next_full_check = time.monotonic() + 0.5
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def delete(self, cid: str, force: bool = False) -> None:
        """Remove the container and everything it held on the host: runc state, cgroups,
        mounts, bundle. A running container needs force (it is killed first)."""
        rec = self._record(cid)
        if self._state(rec).status in ("running", "paused"):
            if not force:
                raise ContainerConflict(f"container {cid} is running: stop it first or force")
            self.runc.kill(cid, 9, all_processes=True)
            if self.wait(cid, timeout=10) is None:
                raise ContainerError(f"container {cid} did not die after SIGKILL")
        self.runc.delete(cid)
        wait_conmon_gone(self.containers / cid / "conmon.pid", cid)
        Cgroup(rec.cgroups_path).remove()
        self._remove_files(cid)
        self.release_user_namespace(rec.userns)
        self.event_log.emit(cid, rec.name, "destroy")

    def release_user_namespace(self, key: str | None) -> None:
        """The key's id range (and namespace) goes back once no container here holds it."""
        if key and key not in {rec.userns for rec in self.records()}:
            self.id_ranges.release(key)

    def _remove_files(self, cid: str) -> None:
        self.snapshots.remove(cid)
        (self.exits / cid).unlink(missing_ok=True)
        (self.sockets / cid).unlink(missing_ok=True)
        shutil.rmtree(self.containers / cid, ignore_errors=True)

    def remove_half_made(self, min_age: float = 60.0) -> list[str]:
        """Remove what a create() killed midway left: a bundle without a record, or a mounted
        root with no bundle. Only older than min_age seconds, so a create under way is safe."""
        cutoff = time.time() - min_age
        bundles = {d.name: d for d in self.containers.iterdir()}
        gone = []
        for key in set(self.snapshots.keys()) | set(bundles):
            if key in bundles and Record.load(bundles[key]) is not None:
                continue
            made = (bundles[key] if key in bundles else self.snapshots.root / key).stat().st_mtime
            if made < cutoff:
                self._remove_files(key)
                gone.append(key)
        return gone

    def remove_volume(self, name: str) -> None:
        """A named volume and what is in it (its users are gone: the caller's business)."""
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", name):
            raise ContainerError(f"invalid volume name {name!r}")
        shutil.rmtree(self.volumes / name, ignore_errors=True)

    # -- inspection ------------------------------------------------------------------

    def state(self, cid: str) -> ContainerState:
        return self._state(self._record(cid))

    def list(self) -> list[ContainerState]:
        runc_states = self.runc.list()  # one runc call for all, not one per container
        return [self._state(rec, runc_states) for rec in self.records()]

    def records(self) -> list[Record]:
        """Every container's record, read from disk only: names and ids without asking runc."""
        out = []
        for d in sorted(self.containers.iterdir()):
            rec = Record.load(d)
            if rec is not None:  # a bundle half-made by a crashed create has no record
                out.append(rec)
        return out

    def logs(self, cid: str, *, follow: bool = False, tail: int | None = None) -> Iterator[LogLine]:
        self._record(cid)
        bundle = self.containers / cid

        def done() -> bool:
            # Asked between every poll: /proc only, no runc call. Not the exit file: conmon
            # writes it before it has drained the container's last output into the log;
            # once conmon is gone, everything is in the file.
            return conmon_pid(bundle / "conmon.pid", cid) is None

        return read_logs(self.containers / cid / "ctr.log", follow=follow, tail=tail, done=done)

    def events(self, *, since: str | None = None, follow: bool = False) -> Iterator[Event]:
        """Events of all containers in order; following, this also notices exits (so a
        "die" appears even when nobody else is looking at that container)."""
        return self.event_log.read(since=since, follow=follow, refresh=self.list)

    def rootfs(self, cid: str) -> Path:
        self._record(cid)
        return self.snapshots.mountpoint(cid)

    def _record(self, cid: str) -> Record:
        rec = Record.load(self.containers / cid) if _ID.match(cid) else None
        if rec is None:
            raise ContainerNotFound(f"no such container: {cid}")
        return rec

    def _state(self, rec: Record, runc_states: dict[str, dict] | None = None) -> ContainerState:
        status, pid = "created", None
        if rec.started_at:
            if rec.exit_code is None:
                self._observe_exit(rec)
            if rec.exit_code is not None:
                status = "exited"
            else:
                rs = runc_states.get(rec.id) if runc_states is not None else self.runc.state(rec.id)
                if rs is None or rs["status"] == "stopped":
                    # conmon writes the exit file a moment after runc sees the end; if
                    # conmon is gone too, the code was lost (e.g. the host rebooted).
                    if conmon_pid(self.containers / rec.id / "conmon.pid", rec.id) is None:
                        self._observe_exit(rec)  # it may have written the file and gone since
                        status = "exited"
                    else:
                        status = "running"
                else:
                    status, pid = rs["status"], rs["pid"]
                    status = "running" if status == "created" else status
        return ContainerState(
            id=rec.id, name=rec.name, status=status, pid=pid, exit_code=rec.exit_code,
            oom_killed=rec.oom_killed, created_at=rec.created_at, started_at=rec.started_at,
            finished_at=rec.finished_at, restart_count=rec.restart_count, labels=rec.labels,
            warnings=rec.warnings, layers=list(rec.layers))

    def _observe_exit(self, rec: Record) -> None:
        """Move what conmon left on exit into our record, once: the exit code from its
        exit file, OOM from its oom file or the memory cgroup's kill counter."""
        if rec.exit_code is not None:
            return  # already moved: a second "die" would be a lie
        exit_file = self.exits / rec.id
        try:
            text = exit_file.read_text().strip()
            mtime = exit_file.stat().st_mtime
        except FileNotFoundError:
            return
        if not text:
            return
        bundle = self.containers / rec.id
        rec.exit_code = int(text)
        rec.finished_at = iso(mtime)
        # conmon leaves "oom" in its persist dir and its working dir (the bundle); the
        # cgroup's own counter also catches a kill conmon's watch missed.
        rec.oom_killed = ((bundle / "persist" / "oom").exists() or (bundle / "oom").exists()
                          or Cgroup(rec.cgroups_path).oom_kills() > 0)
        rec.save(bundle)
        if rec.oom_killed:
            self.event_log.emit(rec.id, rec.name, "oom", at=rec.finished_at)
        self.event_log.emit(rec.id, rec.name, "die", at=rec.finished_at, exitCode=rec.exit_code)

    def exec(self, cid: str, args: list[str], *, env: dict[str, str] | None = None,
             user: str | None = None, workdir: str | None = None, stdin: bytes | None = None,
             tty: bool = False, timeout: float | None = None) -> ExecResult:
        if self.state(cid).status != "running":
            raise ContainerConflict(f"container {cid} is not running")
        return exec_process(self.runc, cid, self.containers / cid, self.snapshots.mountpoint(cid),
                            args, env=env, user=user, workdir=workdir, stdin=stdin, tty=tty,
                            timeout=timeout)

    def counters(self, cid: str) -> Counters | None:
        """The container's CPU time, memory and network bytes now; None when it is not running."""
        return counters(Cgroup(self._record(cid).cgroups_path))

    def stats(self, cid: str, interval: float = 0.1) -> Stats:
        rec = self._record(cid)
        st = self._state(rec)
        if st.status not in ("running", "paused"):
            raise ContainerConflict(f"container {cid} is not running")
        return sample(Cgroup(rec.cgroups_path), st.pid, interval)


def give_stdio(pid: int, uid: int, gid: int) -> None:
    """Give a user namespace's root the pipes conmon made for the container's stdio (pid:
    its init, created and not yet started, so still runc's, not the image's): opening
    /dev/stdout reopens the pipe, which a root that is not the host's may not do to the host
    root's. Pipes only: nothing else the host owns changes hands."""
    for fd in (0, 1, 2):
        path = f"/proc/{pid}/fd/{fd}"
        try:
            if stat.S_ISFIFO(os.stat(path).st_mode):
                os.chown(path, uid, gid)
        except FileNotFoundError:
            continue  # not open


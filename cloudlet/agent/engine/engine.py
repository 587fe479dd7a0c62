"""The engine: resolves names, images and networks, and hands the runtime a full spec."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from cloudlet.agent.images import ImageError, ImageStore
from cloudlet.agent.images.errors import WHERE_IMAGES_COME_FROM
from cloudlet.agent.network import Attachment, Networks, PortMapping, Settings
from cloudlet.agent.runtime import (ContainerNotFound, ContainerSpec, ContainerState, Resources, Runtime,
                                    VolumeMount)
from cloudlet.agent.steps import step

from .options import RunOptions

# What the engine remembers about a container beyond the runtime's record and the network
# layer's endpoint, kept in the runtime's labels so that it survives restarts.
IMAGE_LABEL = "io.cloudlet.image"
NETWORK_LABEL = "io.cloudlet.network"


class EngineError(Exception):
    pass


@dataclass
class Container:
    state: ContainerState
    image: str
    network: str
    ports: list[PortMapping]
    ip: str | None

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def name(self) -> str:
        return self.state.name


def image_store(root: str | Path) -> ImageStore:
    """The image store of the engine at root, alone (the registry shares its content)."""
    return ImageStore(Path(root) / "images")


class Engine:
    def __init__(self, root: str | Path, network: Settings | None = None):
        self.root = Path(root)
        self.images = image_store(self.root)
        self.runtime = Runtime(self.root / "rt")
        self.networks = Networks(self.root / "net", network)

    # -- containers -----------------------------------------------------------------

    def create(self, opts: RunOptions, attachment: Attachment | None = None) -> Container:
        """A container, not started. attachment: a network namespace to join that someone
        else connected (an ECS task's, shared by its containers), instead of one of its own."""
        try:
            with step("image lookup"):
                image = self.images.get(opts.image)
                layers = self.images.layer_dirs(image)
        except ImageError as e:
            raise EngineError(f"{e} ({WHERE_IMAGES_COME_FROM})") from None
        cid = secrets.token_hex(16)
        name = opts.name or f"{opts.image.split('/')[-1].split(':')[0]}-{cid[:6]}"
        with step("name check"):
            if any(rec.name == name for rec in self.runtime.records()):
                raise EngineError(f"the container name {name!r} is already in use")
        userns = (cid if opts.userns is True else opts.userns) or None
        owns_network = attachment is None
        if owns_network:
            # its network namespace belongs to its user namespace, for `exec` to enter both
            in_userns = self.runtime.user_namespace(userns) if userns and opts.network not in ("none", "host") else None
            with step("network"):
                attachment = self.networks.connect(cid, name, opts.network, ports=opts.ports, aliases=opts.aliases,
                                                   userns=in_userns)
        labels = {**opts.labels, IMAGE_LABEL: opts.image, NETWORK_LABEL: opts.network}
        spec = ContainerSpec(
            id=cid, name=name, layers=[str(p) for p in layers], image_config=image.config.runtime,
            entrypoint=opts.entrypoint, command=opts.command, env=opts.env, user=opts.user, workdir=opts.workdir,
            hostname=opts.hostname, network=attachment.netns, readonly_rootfs=opts.readonly_rootfs,
            binds=[*attachment.binds, *[m for m in opts.mounts if not isinstance(m, VolumeMount)]],
            volumes=[m for m in opts.mounts if isinstance(m, VolumeMount)], tmpfs=opts.tmpfs, ulimits=opts.ulimits,
            resources=Resources(memory=opts.memory, cpus=opts.cpus, cpu_shares=opts.cpu_shares,
                                pids_limit=opts.pids_limit),
            cap_add=opts.cap_add, cap_drop=opts.cap_drop, privileged=opts.privileged, devices=opts.devices,
            pid_mode=opts.pid_mode, ipc_mode=opts.ipc_mode, sysctls=opts.sysctls, userns=userns,
            stop_signal=opts.stop_signal,
            stop_timeout=opts.stop_timeout, restart_policy=opts.restart[0], max_retries=opts.restart[1],
            labels=labels)
        try:
            state = self.runtime.create(spec)
        except BaseException:
            if owns_network:
                self.networks.disconnect(cid)
                self.runtime.release_user_namespace(userns)
            raise
        return self._container(state, {cid: (attachment.ip, attachment.ports)})

    def run(self, opts: RunOptions, attachment: Attachment | None = None) -> Container:
        container = self.create(opts, attachment)
        try:
            state = self.runtime.start(container.id)
        except BaseException:
            self.remove(container.id, force=True)
            raise
        return Container(state, container.image, container.network, container.ports, container.ip)

    def resolve(self, ref: str) -> str:
        """A container's id from its name, id or a unique id prefix (from the records on
        disk: resolving is on every command's path and must not wait for runc)."""
        records = self.runtime.records()
        for rec in records:
            if ref in (rec.id, rec.name):
                return rec.id
        matches = [rec.id for rec in records if rec.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        raise EngineError(f"no such container: {ref}" if not matches else f"ambiguous container id {ref!r}")

    def get(self, ref: str) -> Container:
        cid = self.resolve(ref)
        try:
            return self._container(self.runtime.state(cid), self.networks.endpoints())
        except ContainerNotFound:
            raise EngineError(f"no such container: {ref}") from None

    def list(self, all: bool = True) -> list[Container]:
        endpoints = self.networks.endpoints()
        out = [self._container(st, endpoints) for st in self.runtime.list()]
        return out if all else [c for c in out if c.state.status in ("running", "paused")]

    @staticmethod
    def _container(st: ContainerState, endpoints: dict) -> Container:
        ip, ports = endpoints.get(st.id, (None, []))
        return Container(st, st.labels.get(IMAGE_LABEL, ""), st.labels.get(NETWORK_LABEL, "none"), ports, ip)

    def start(self, ref: str) -> Container:
        cid = self.resolve(ref)
        self.runtime.start(cid)
        return self.get(cid)

    def stop(self, ref: str, timeout: float | None = None) -> int | None:
        return self.runtime.stop(self.resolve(ref), timeout)

    def remove(self, ref: str, force: bool = False) -> None:
        cid = self.resolve(ref)
        self.runtime.delete(cid, force=force)
        self.networks.disconnect(cid)

    def prune(self) -> dict:
        """Exited containers, half-made ones, network leftovers, then images and layers
        nothing uses."""
        self.runtime.remove_half_made()
        removed = []
        for c in self.list():
            if c.state.status in ("exited", "created"):
                self.remove(c.id)
                removed.append(c.name)
        self.networks.prune({c.id for c in self.list()})
        in_use = [layer for st in self.runtime.list() for layer in st.layers]
        images = self.images.prune(keep_layers=in_use)
        return {"containers": removed, "layers": images.layers_removed}


"""Builds a Dockerfile into an image: RUN in real containers of the layers so far (the
overlay's upper directory becomes the layer), COPY/ADD from the context or other stages,
metadata instructions into the config, and a layer cache keyed like BuildKit's: the
parent's key, the instruction after substitution, and for COPY/ADD the files' digest."""

import contextlib
import hashlib
import json
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cloudlet.agent.images import ImageError, ImageNotFound, ImageStore, LayerInfo
from cloudlet.agent.images.errors import WHERE_IMAGES_COME_FROM
from cloudlet.agent.runtime import ContainerSpec, Runtime
from cloudlet.agent.runtime.users import UserError, resolve_user

from . import context
from .dockerfile import BuildError, Instruction, key_values, parse, split_words, substitute
from .ignore import Ignore

PROXY_ARGS = {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "ftp_proxy",
              "no_proxy"}


@dataclass
class Stage:
    name: str | None
    key: str
    layers: list[LayerInfo] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return dict(e.split("=", 1) for e in self.config.get("Env", []))

    def set_env(self, name: str, value: str) -> None:
        env = self.env()
        env[name] = value
        self.config["Env"] = [f"{k}={v}" for k, v in env.items()]


class Cache:
    def __init__(self, path: Path):
        self.path = path
        self.entries = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str) -> LayerInfo | None:
        entry = self.entries.get(key)
        return LayerInfo(**entry) if entry else None

    def put(self, key: str, layer: LayerInfo) -> None:
        self.entries[key] = layer.__dict__
        tmp = self.path.with_suffix(f".{secrets.token_hex(4)}")
        tmp.write_text(json.dumps(self.entries))
        tmp.replace(self.path)


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class Builder:
    def __init__(self, images: ImageStore, runtime: Runtime, work_dir: str | Path):
        self.images = images
        self.runtime = runtime
        self.work = Path(work_dir)
        self.cache = Cache(images.root / "build-cache.json")

    def build(self, context_dir, dockerfile: str = "Dockerfile", tags=(), build_args=None, target=None,
              no_cache: bool = False, progress=lambda message: None) -> str:
        context_dir = Path(context_dir)
        path = context_dir / dockerfile if not Path(dockerfile).is_absolute() else Path(dockerfile)
        try:
            instructions = parse(path.read_text())
        except FileNotFoundError:
            raise BuildError(f"{path}: no Dockerfile there") from None
        self.context, self.ignore = context_dir, Ignore.of(context_dir)
        self.build_args, self.no_cache, self.progress = dict(build_args or {}), no_cache, progress
        self.stages: list[Stage] = []
        global_args: dict[str, str] = {}
        stage = None
        total = len(instructions)
        for step, inst in enumerate(instructions, 1):
            progress(f"Step {step}/{total} : {inst.original}")
            if inst.command == "FROM":
                if stage is not None and target is not None and stage.name == target:
                    break
                stage = self._from(inst, global_args)
                self.stages.append(stage)
            elif stage is None:
                if inst.command != "ARG":
                    raise BuildError("the first instruction must be FROM (or ARG)", inst.line)
                for k, v in key_values(inst).items():
                    global_args[k] = self.build_args.get(k, v if v is not None else "")
            else:
                self._step(stage, inst)
        if target is not None and stage.name != target and not any(s.name == target for s in self.stages):
            raise BuildError(f"target stage {target!r} not found")
        final = next(s for s in self.stages if s.name == target) if target else stage
        return self._commit(final, list(tags))

    # -- stages ---------------------------------------------------------------------

    def _from(self, inst: Instruction, global_args: dict[str, str]) -> Stage:
        words = substitute(inst.rest, global_args).split()
        if not words or (len(words) > 1 and (len(words) != 3 or words[1].lower() != "as")):
            raise BuildError("FROM needs an image: FROM image [AS name]", inst.line)
        ref, name = words[0], (words[2] if len(words) == 3 else None)
        stage = Stage(name, _key("scratch"))
        stage.args = {k: v for k, v in global_args.items()}
        if ref == "scratch":
            return stage
        earlier = next((s for s in self.stages if s.name == ref), None)
        if earlier:
            stage.key, stage.layers = earlier.key, list(earlier.layers)
            stage.config, stage.history = json.loads(json.dumps(earlier.config)), list(earlier.history)
            return stage
        try:
            image = self.images.get(ref)
        except ImageNotFound as e:
            raise BuildError(f"FROM {ref}: {e} ({WHERE_IMAGES_COME_FROM})", inst.line) from None
        except ImageError as e:
            raise BuildError(f"FROM {ref}: {e}", inst.line) from None
        stage.key, stage.layers, stage.config = image.digest, image.layers, image.config.runtime
        stage.history = list(image.config.doc.get("history", []))
        return stage

    def _step(self, stage: Stage, inst: Instruction) -> None:
        scope = {**stage.args, **stage.env()}
        if inst.command in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "ONBUILD", "MAINTAINER"):
            text = inst.rest  # the shell substitutes these at run time, not the builder
        else:
            text = substitute(inst.rest, scope)
        handler = getattr(self, f"_{inst.command.lower()}")
        created_layer = handler(stage, inst, text)
        stage.history.append({"created_by": f"{inst.command} {text}"[:1000], **({} if created_layer else
                                                                                    {"empty_layer": True})})
        if not created_layer:
            stage.key = _key(stage.key, inst.command, json.dumps(inst.flags, sort_keys=True), text)

    # -- layer-making instructions ---------------------------------------------------

    def _layer(self, stage: Stage, key: str, make) -> bool:
        cached = None if self.no_cache else self.cache.get(key)
        if cached and self.images.content.exists(cached.digest):
            self.progress(" ---> Using cache")
            layer = cached
        else:
            layer = make()
            self.cache.put(key, layer)
        stage.layers.append(layer)
        stage.key = key
        return True

    def _run(self, stage: Stage, inst: Instruction, text: str) -> bool:
        args = inst.json_form() or [*stage.config.get("Shell", ["/bin/sh", "-c"]), text]
        used = {k: v for k, v in stage.args.items() if k in self.build_args or k in PROXY_ARGS}
        key = _key(stage.key, "RUN", json.dumps(args), json.dumps(used, sort_keys=True))
        return self._layer(stage, key, lambda: self._run_container(stage, inst, args))

    def _run_container(self, stage: Stage, inst: Instruction, args: list[str]) -> LayerInfo:
        cid = "build-" + secrets.token_hex(8)
        spec = ContainerSpec(id=cid, layers=[str(p) for p in self.images.unpacked(stage.layers)],
                             image_config=stage.config, entrypoint=[], command=args,
                             env={k: v for k, v in stage.args.items()}, network="host")
        if not spec.layers:
            raise BuildError("RUN needs a base image with a shell (FROM scratch has none)", inst.line)
        self.runtime.run(spec)
        try:
            for line in self.runtime.logs(cid, follow=True):
                self.progress(line.text)
            code = self.runtime.wait(cid)
            if code != 0:
                raise BuildError(f"RUN {' '.join(args[-1:])} exited with code {code}", inst.line)
            upper = self.runtime.snapshots.upper(cid)
            return self.images.write_layer(lambda w: w.add_tree(upper, overlay_upper=True))
        finally:
            self.runtime.delete(cid, force=True)

    def _copy(self, stage: Stage, inst: Instruction, text: str, extract: bool = False) -> bool:
        words = inst.json_form() or split_words(text)
        if len(words) < 2:
            raise BuildError(f"{inst.command} needs a source and a destination", inst.line)
        *patterns, dest = words
        if any("://" in p for p in patterns):
            raise BuildError("ADD from a URL needs network access, which builds here do not have; "
                             "download the file into the build context and COPY it", inst.line)
        workdir = stage.config.get("WorkingDir") or "/"
        dest = dest if dest.startswith("/") else f"{workdir.rstrip('/')}/{dest}"
        with contextlib.ExitStack() as stack:
            root, ignore = self._source_root(stage, inst, stack)
            uid = gid = None
            if "chown" in inst.flags:
                uid, gid = self._owner(stage, inst)
            tree = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=self.work)))
            try:
                context.place(context.sources(root, patterns, ignore, inst.line), root, dest, tree, ignore,
                              extract=extract, uid=uid, gid=gid, line=inst.line)
            except OSError as e:  # the context's own trouble (a file unreadable, say), told as the build's
                raise BuildError(f"{inst.command}: {e}", inst.line) from None
            key = _key(stage.key, inst.command, dest, context.digest(tree))
            return self._layer(stage, key, lambda: self.images.write_layer(lambda w: w.add_tree(tree)))

    def _add(self, stage: Stage, inst: Instruction, text: str) -> bool:
        return self._copy(stage, inst, text, extract=True)

    def _source_root(self, stage: Stage, inst: Instruction, stack) -> tuple[Path, Ignore | None]:
        source = inst.flags.get("from")
        if source is None:
            return self.context, self.ignore
        earlier = next((s for s in self.stages if s.name == source or str(self.stages.index(s)) == source), None)
        layers = earlier.layers if earlier else None
        if layers is None:
            try:
                layers = self.images.get(source).layers
            except ImageError as e:
                raise BuildError(f"--from={source}: {e}", inst.line) from None
        tree = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=self.work))) / "root"
        self._flatten(layers, tree)
        return tree, None

    def _flatten(self, layers: list[LayerInfo], tree: Path) -> None:
        from cloudlet.agent.images import Budget, flatten

        with contextlib.ExitStack() as stack:
            blobs = [stack.enter_context(self.images.content.open(ly.digest)) for ly in layers]
            flatten(blobs, tree, diff_ids=[ly.diff_id for ly in layers], budget=Budget(self.images.limits()))

    def _owner(self, stage: Stage, inst: Instruction) -> tuple[int, int]:
        spec = inst.flags["chown"]
        with tempfile.TemporaryDirectory(dir=self.work) as tmp:
            etc = Path(tmp, "etc")
            etc.mkdir()
            # Only the account files are needed: the topmost layer that has each wins.
            for name in ("passwd", "group"):
                for layer_dir in reversed(self.images.unpacked(stage.layers)):
                    if (layer_dir / "etc" / name).is_file():
                        shutil.copy(layer_dir / "etc" / name, etc / name)
                        break
            try:
                user = resolve_user(Path(tmp), spec if ":" in spec else f"{spec}:{spec}" if not spec.isdigit()
                                    else spec)
            except UserError as e:
                raise BuildError(f"--chown={spec}: {e}", inst.line) from None
        return user.uid, user.gid

    # -- metadata instructions -------------------------------------------------------

    def _env(self, stage, inst, text):
        for k, v in key_values(Instruction(inst.command, text, inst.line)).items():
            stage.set_env(k, v)

    def _arg(self, stage, inst, text):
        for k, v in key_values(Instruction(inst.command, text, inst.line)).items():
            stage.args[k] = self.build_args.get(k, v if v is not None else stage.args.get(k, ""))

    def _label(self, stage, inst, text):
        stage.config.setdefault("Labels", {}).update(key_values(Instruction(inst.command, text, inst.line)))

    def _workdir(self, stage, inst, text):
        base = stage.config.get("WorkingDir") or "/"
        stage.config["WorkingDir"] = text if text.startswith("/") else f"{base.rstrip('/')}/{text}"

    def _user(self, stage, inst, text):
        stage.config["User"] = text

    def _expose(self, stage, inst, text):
        for port in split_words(text):
            stage.config.setdefault("ExposedPorts", {})[port if "/" in port else f"{port}/tcp"] = {}

    def _volume(self, stage, inst, text):
        for v in inst.json_form() or split_words(text):
            stage.config.setdefault("Volumes", {})[v] = {}

    def _stopsignal(self, stage, inst, text):
        stage.config["StopSignal"] = text

    def _command_form(self, stage, inst, text) -> list[str]:
        return inst.json_form() or [*stage.config.get("Shell", ["/bin/sh", "-c"]), text]

    def _cmd(self, stage, inst, text):
        stage.config["Cmd"] = self._command_form(stage, inst, text)

    def _entrypoint(self, stage, inst, text):
        stage.config["Entrypoint"] = self._command_form(stage, inst, text)
        stage.config.pop("Cmd", None)  # as Docker: a new ENTRYPOINT resets an inherited CMD

    def _shell(self, stage, inst, text):
        form = inst.json_form()
        if not form:
            raise BuildError("SHELL needs the JSON form, e.g. SHELL [\"/bin/bash\", \"-c\"]", inst.line)
        stage.config["Shell"] = form

    def _healthcheck(self, stage, inst, text):
        if text.strip().upper() == "NONE":
            stage.config["Healthcheck"] = {"Test": ["NONE"]}
            return
        words = text.split(None, 1)
        if not words or words[0].upper() != "CMD" or len(words) < 2:
            raise BuildError("HEALTHCHECK needs CMD or NONE", inst.line)
        probe = Instruction("CMD", words[1], inst.line)
        form = probe.json_form()
        check = {"Test": ["CMD", *form] if form else ["CMD-SHELL", words[1]]}
        units = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod"}
        for flag, value in inst.flags.items():
            if flag in units:
                check[units[flag]] = _duration_ns(value, inst)
            elif flag == "retries":
                check["Retries"] = int(value)
            else:
                raise BuildError(f"unknown HEALTHCHECK flag --{flag}", inst.line)
        stage.config["Healthcheck"] = check

    def _onbuild(self, stage, inst, text):
        stage.config.setdefault("OnBuild", []).append(text)

    def _maintainer(self, stage, inst, text):
        stage.config.setdefault("Labels", {})["maintainer"] = text

    # -- the image ------------------------------------------------------------------

    def _commit(self, stage: Stage, tags: list[str]) -> str:
        config = {"config": stage.config, "history": stage.history}
        image = self.images.commit(config, stage.layers)
        for tag in tags:
            self.images.tag(tag, image.digest)
        return image.digest


def _duration_ns(text: str, inst: Instruction) -> int:
    units = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[:-len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[:-len(suffix)]) * units[suffix])
    raise BuildError(f"invalid duration {text!r}", inst.line)

"""`cloudlet image bootstrap`: busybox, debian:bookworm-slim, nginx and python:3.11, built
from Debian packages into an ImageStore.

Upper images (nginx, python) are made by running mmdebstrap again with the extra packages
and storing the difference to the debian tree as one layer: no container or chroot
scripting needed, and the layer is exactly what the packages add.

Reproducible: entries are sorted with one mtime (the layer writer's), mmdebstrap runs with
a fixed SOURCE_DATE_EPOCH, volatile files are removed, and the config's `created` is that
epoch. Cached: a recipe is rebuilt only when its key (recipe version, packages, the host's
apt index) changed or its image is gone."""

import contextlib
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cloudlet.agent.images import ImageNotFound, ImageStore, flatten
from cloudlet.bootstrap import trees

RECIPE_VERSION = 1
SUITE = "bookworm"
# 2023-06-10, bookworm's release: every image's `created`, and mmdebstrap's SOURCE_DATE_EPOCH.
EPOCH = 1686355200
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Recipe:
    name: str
    tags: list[str]
    packages: list[str] | None  # None: not Debian (busybox)
    config: dict
    parent: str | None = None
    extra: list[str] = field(default_factory=list)  # packages on top of the parent's


RECIPES = {r.name: r for r in [
    Recipe("busybox", ["busybox:latest", "busybox:1.35"], None, {"Env": [f"PATH={PATH}"], "Cmd": ["sh"]}),
    Recipe("debian", ["debian:bookworm-slim", "debian:bookworm", "debian:12", "debian:latest"], [],
           {"Env": [f"PATH={PATH}"], "Cmd": ["bash"]}),
    Recipe("nginx", ["nginx:latest", "nginx:bookworm"], ["nginx-light"],
           {"Env": [f"PATH={PATH}"], "Cmd": ["nginx", "-g", "daemon off;"], "ExposedPorts": {"80/tcp": {}},
            "StopSignal": "SIGQUIT"}, parent="debian", extra=["nginx-light"]),
    Recipe("python", ["python:3.11", "python:3.11-slim", "python:3"], ["python3", "python3-pip", "python3-venv"],
           {"Env": [f"PATH={PATH}", "LANG=C.UTF-8"], "Cmd": ["python3"]}, parent="debian",
           extra=["python3", "python3-pip", "python3-venv"]),
]}


def _apt_index_key() -> str:
    """Changes when the host's apt index does, i.e. when package versions may have."""
    h = hashlib.sha256()
    for release in sorted(Path("/var/lib/apt/lists").glob("*Release")):
        h.update(release.name.encode() + release.read_bytes())
    return h.hexdigest()


def _key(recipe: Recipe, apt_key: str) -> str:
    data = {"v": RECIPE_VERSION, "packages": recipe.packages, "config": recipe.config, "parent": recipe.parent,
            "apt": apt_key if recipe.packages is not None else None}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _finish_nginx(tree: Path) -> None:
    """Logs to the container's output and a page of our own, like Docker's nginx image."""
    logs = tree / "var/log/nginx"
    logs.mkdir(parents=True, exist_ok=True)
    for name, target in (("access.log", "/dev/stdout"), ("error.log", "/dev/stderr")):
        (logs / name).unlink(missing_ok=True)
        (logs / name).symlink_to(target)
    (tree / "var/www/html").mkdir(parents=True, exist_ok=True)
    (tree / "var/www/html/index.html").write_text("<!DOCTYPE html>\n<title>Welcome to nginx!</title>\n"
                                                 "<h1>Welcome to nginx!</h1>\n<p>Served from a cloudlet container.</p>\n")


def _finish_python(tree: Path) -> None:
    link = tree / "usr/bin/python"
    if not link.exists():
        link.symlink_to("python3")


FINISH = {"nginx": _finish_nginx, "python": _finish_python}


class Bootstrap:
    def __init__(self, store: ImageStore, progress=lambda message: None):
        self.store = store
        self.progress = progress
        self.cache_file = store.root / "bootstrap.json"
        self.work = Path(tempfile.mkdtemp(prefix="bootstrap-", dir=store.root))
        self.trees: dict[str, Path] = {}

    def run(self, names: list[str] | None = None) -> dict[str, str]:
        """Build (or find cached) the named recipes and their parents; name -> digest."""
        wanted = names or list(RECIPES)
        unknown = [n for n in wanted if n not in RECIPES]
        if unknown:
            raise ValueError(f"unknown base image {unknown[0]!r}; choose from {', '.join(RECIPES)}")
        apt_key = _apt_index_key()
        cache = json.loads(self.cache_file.read_text()) if self.cache_file.exists() else {}
        done = {}
        try:
            for name in RECIPES:  # parents come before children in RECIPES
                if name in wanted or any(RECIPES[w].parent == name for w in wanted):
                    done[name] = self._one(RECIPES[name], _key(RECIPES[name], apt_key), cache, done)
                    self.cache_file.write_text(json.dumps(cache, indent=1))
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        return {n: d for n, d in done.items() if n in wanted}

    def _cached(self, recipe: Recipe, key: str, cache: dict) -> str | None:
        entry = cache.get(recipe.name)
        if not entry or entry["key"] != key:
            return None
        try:
            image = self.store.get(entry["digest"])
        except ImageNotFound:
            return None
        for tag in recipe.tags:
            self.store.tag(tag, image.digest)  # a tag removed by hand comes back
        return image.digest

    def _one(self, recipe: Recipe, key: str, cache: dict, done: dict) -> str:
        digest = self._cached(recipe, key, cache)
        if digest:
            self.progress(f"{recipe.tags[0]}: cached")
            return digest
        started = time.monotonic()
        self.progress(f"{recipe.tags[0]}: building")
        tree = self.work / recipe.name
        tree.mkdir()
        layers = []
        if recipe.parent:
            parent = self.store.get(done[recipe.parent])
            layers = list(parent.layers)
            trees.debootstrap(tree, SUITE, recipe.extra, EPOCH)
            FINISH[recipe.name](tree)
            lower = self._tree(recipe.parent)
            layers.append(self.store.write_layer(lambda w: trees.diff(lower, tree, w), mtime=EPOCH))
        else:
            if recipe.packages is None:
                trees.busybox(tree)
            else:
                trees.debootstrap(tree, SUITE, recipe.packages, EPOCH)
            layers.append(self.store.write_layer(lambda w: w.add_tree(tree), mtime=EPOCH))
        self.trees[recipe.name] = tree
        created = datetime.fromtimestamp(EPOCH, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = {"created": created, "config": recipe.config,
                  "history": [{"created": created, "created_by": f"cloudlet bootstrap {recipe.name}"}
                              for _ in layers]}
        image = self.store.commit(config, layers)
        for tag in recipe.tags:
            self.store.tag(tag, image.digest)
        cache[recipe.name] = {"key": key, "digest": image.digest}
        self.progress(f"{recipe.tags[0]}: built in {time.monotonic() - started:.1f} s, {image.digest[:19]}")
        return image.digest

    def _tree(self, name: str) -> Path:
        """The parent's tree: from this run, or its image flattened when it was cached."""
        if name not in self.trees:
            image = self.store.get(RECIPES[name].tags[0])
            tree = self.work / name
            with contextlib.ExitStack() as stack:
                blobs = [stack.enter_context(self.store.content.open(layer.digest, verify=True))
                         for layer in image.layers]
                flatten(blobs, tree, diff_ids=image.config.diff_ids)
            self.trees[name] = tree
        return self.trees[name]


def bootstrap(store: ImageStore, names: list[str] | None = None, progress=lambda message: None) -> dict[str, str]:
    return Bootstrap(store, progress).run(names)

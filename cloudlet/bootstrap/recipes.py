"""What each base image is: where its root comes from, its packages, tags and config,
modelled on Docker Hub's image of the same name."""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# Raise when a recipe makes something else without its fields showing it (a finishing
# step, the slimming, the normalization): cached images are rebuilt then.
RECIPE_VERSION = 2
SUITE = "bookworm"
# 2023-06-10, bookworm's release: every image's `created`, and SOURCE_DATE_EPOCH.
EPOCH = 1686355200
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Recipe:
    name: str
    tags: tuple[str, ...]  # the first is the one progress messages show
    config: dict
    root: str = "minbase"  # without a parent: "busybox" or "minbase" (mmdebstrap)
    parent: str | None = None  # else: the recipe whose image this one adds a layer to
    packages: tuple[str, ...] = ()  # Debian packages added to the parent
    finish: Callable[[Path], None] | None = None  # run on the tree after the packages


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


RECIPES = {r.name: r for r in [
    Recipe("busybox", ("busybox:latest", "busybox:1.37"), {"Env": [f"PATH={PATH}"], "Cmd": ["sh"]}, root="busybox"),
    Recipe("debian", ("debian:bookworm-slim", "debian:bookworm", "debian:12", "debian:latest"),
           {"Env": [f"PATH={PATH}"], "Cmd": ["bash"]}),
    Recipe("nginx", ("nginx:latest", "nginx:bookworm"),
           {"Env": [f"PATH={PATH}"], "Cmd": ["nginx", "-g", "daemon off;"], "ExposedPorts": {"80/tcp": {}},
            "StopSignal": "SIGQUIT"},
           parent="debian", packages=("nginx",), finish=_finish_nginx),
    # Docker's python image lets `pip install` write to the system's site-packages; Debian's
    # python marks it externally managed (PEP 668), which the variable overrides.
    Recipe("python", ("python:3.11", "python:3.11-slim", "python:3"),
           {"Env": [f"PATH={PATH}", "LANG=C.UTF-8", "PIP_BREAK_SYSTEM_PACKAGES=1"], "Cmd": ["python3"]},
           parent="debian", packages=("python3", "python3-pip", "python3-venv"), finish=_finish_python),
]}  # parents before their children


def recipe_for(name: str) -> Recipe:
    """A recipe by its name ("nginx") or one of its tags ("python:3.11")."""
    for recipe in RECIPES.values():
        if name == recipe.name or name in recipe.tags:
            return recipe
    raise ValueError(f"unknown base image {name!r}; choose from {', '.join(RECIPES)}")

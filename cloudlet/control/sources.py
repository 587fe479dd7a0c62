"""Where a task's containers come from: their images (an ECR repository's, pulled into the
engine, or a bootstrap image by its name) and their secrets (SSM parameters)."""

from __future__ import annotations

import logging
import re
import subprocess
import threading
import time

from cloudlet.agent.images import ImageError, ImageNotFound
from cloudlet.store.parameters import ParameterError

from .records import TaskFailed

_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.[^/]+/([^:@]+)(?::([^@]+))?$")
log = logging.getLogger("cloudlet.control.tasks")


class Sources:
    def __init__(self, store, engine, registry=None, parameters=None):
        self.store = store
        self.engine = engine
        self.registry = registry  # to pull images of ECR repositories
        self.parameters = parameters  # SSM parameters, where containers' secrets come from
        # one bootstrap build at a time: tasks that need the same image wait for the one build
        # of it (then find it made), not each build it beside the other in the same image store
        self._building = threading.Lock()

    def image(self, image: str, key: tuple) -> str:
        m = _ECR.match(image)
        try:
            if m:
                return self._pull(m, image, key)
            try:
                self.engine.images.get(image)
            except ImageNotFound:
                self._build(image, key)
            return image
        except (ImageError, RuntimeError, subprocess.SubprocessError, OSError) as e:
            # a build's tools failing, or the disk filling, fails the pull: the task stops saying so
            raise TaskFailed(f"CannotPullContainerError: {image}: {e}") from None

    def _build(self, image: str, key: tuple) -> None:
        """A bootstrap image made on first use (minutes for the Debian ones), each step of the
        build in the server's log under the task waiting for it."""
        from cloudlet.bootstrap.images import bootstrap
        from cloudlet.bootstrap.recipes import recipe_for
        try:
            recipe_for(image)
        except ValueError:
            raise TaskFailed(f"CannotPullContainerError: pull image manifest has been retried 1 time(s): "
                             f"{image}: not found (neither in ECR nor one of the bootstrap images)") from None
        started = time.monotonic()
        log.info("task %s: pulling %s: a bootstrap image, built from Debian packages on first use", key[2], image)
        with self._building:
            bootstrap(self.engine.images, [image], progress=lambda line: log.info("task %s: %s", key[2], line))
        log.info("task %s: pulled %s in %.1f s", key[2], image, time.monotonic() - started)

    def _pull(self, m, image: str, key: tuple) -> str:
        from cloudlet.registry import RegistryError
        from cloudlet.registry.local import pull
        from cloudlet.registry.registry import Scope

        account, region, repo, tag = m.group(1), m.group(2), m.group(3), m.group(4) or "latest"
        if account != key[0]:
            raise TaskFailed(f"CannotPullContainerError: access denied to the repository of account {account}")
        try:
            pull(self.registry, self.engine.images, Scope(account, region), repo, tag, image)
        except RegistryError as e:
            raise TaskFailed(f"CannotPullContainerError: {image}: {e.message}") from None
        return image

    def secrets(self, key: tuple, c: dict) -> dict[str, str]:
        """The container's secrets as environment variables, from SSM parameters (by name or
        ARN). Read at each start, as ECS does, so a changed parameter reaches the next task."""
        for source in c.get("environmentFiles") or []:
            # They are S3 objects on AWS, and this cloud has no S3 yet: fail as ECS fails on a missing one.
            raise TaskFailed(f"ResourceInitializationError: failed to download env files: {source.get('value')}: "
                             "no S3 object by that name here", c["name"])
        out = {}
        for secret in c.get("secrets") or []:
            source = secret["valueFrom"]
            if source.startswith("arn:") and ":ssm:" not in source:
                raise TaskFailed(f"ResourceInitializationError: unable to pull secrets: {source}: only SSM "
                                 "parameters are kept here", c["name"])
            region = source.split(":")[3] if source.startswith("arn:") else key[1]
            try:
                with self.store.scoped(key[0], region, write=False) as db:
                    out[secret["name"]] = self.parameters.get(db, source, decrypt=True)["value"]
            except ParameterError as e:
                raise TaskFailed(f"ResourceInitializationError: unable to pull secrets or registry auth: "
                                 f"{e.code}: {e.message}", c["name"]) from None
        return out

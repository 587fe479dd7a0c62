"""One host's container engine: images, containers and networks behind one object, used by
the docker-like CLI and by the services that run containers (ECS)."""

from .engine import Container, Engine, EngineError, image_store
from cloudlet.agent.network import PortMapping

from .options import OptionError, RunOptions

__all__ = ["Container", "Engine", "EngineError", "OptionError", "PortMapping", "RunOptions", "image_store"]

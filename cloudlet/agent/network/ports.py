"""A published port: host address and port to a container port."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PortMapping:
    host_port: int  # 0: pick a free one
    container_port: int
    protocol: str = "tcp"
    host_ip: str = "0.0.0.0"

    def __str__(self) -> str:
        return f"{self.host_ip}:{self.host_port}->{self.container_port}/{self.protocol}"

"""The host commands networking drives (`ip`, `nft`, sysctls), run and checked in one place."""

import subprocess
from pathlib import Path


class NetworkError(Exception):
    pass


def run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise NetworkError(f"{' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("ip", *args, check=check)


def nft(script: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("nft", "-f", "-", input=script, check=check)


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def sysctl(key: str, value: str) -> None:
    Path("/proc/sys", *key.split(".")).write_text(value)

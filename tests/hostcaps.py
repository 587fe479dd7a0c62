"""Skip helpers for tests that need a host capability (root, a binary, netns)."""

import os
import shutil

import pytest


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")


def need_binaries(*names: str):
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (installed by `cloudlet setup`)")

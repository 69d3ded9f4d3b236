"""mup is installed without its declared dependencies: it imports, and torchvision and seaborn are absent."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def test_mup_imports_at_the_pinned_version():
    import mup

    assert callable(mup.set_base_shapes) and callable(mup.MuSGD) and isinstance(mup.MuReadout, type)
    assert f"mup=={importlib.metadata.version('mup')}" in LOCK.read_text().splitlines()


@pytest.mark.parametrize("name", ["torchvision", "seaborn"])
def test_mups_declared_dependencies_are_not_installed(name):
    assert importlib.util.find_spec(name) is None, f"{name} is importable"
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version(name)

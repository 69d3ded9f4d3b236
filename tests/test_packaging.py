"""Packaging: every package is listed in pyproject.toml, and a wheel carries the migrations."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
MIGRATIONS = ["alembic.ini", "env.py", "script.py.mako", "versions/__init__.py", "versions/0001_core_tables.py"]


def test_every_package_directory_is_listed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    source = ROOT / "platform"
    found = {".".join(init.parent.relative_to(source).parts) for init in source.glob("archscale/**/__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert {"archscale.migrations", "archscale.migrations.versions"} <= listed
    assert not (source / "__init__.py").exists(), "platform/ must never be a package (it shadows the stdlib)"


def test_the_wheel_contains_the_migrations(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, project / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("platform", "db"):
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    if not (project / "README.md").exists():
        (project / "README.md").write_text("archscale\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(project)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("archscale-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"archscale/migrations/{name}" for name in MIGRATIONS} <= names
    assert "archscale/store/writer.py" in names and "archscale/py.typed" in names
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "archscale = archscale.cli.app:script" in zipfile.ZipFile(wheel).read(entry_points).decode()

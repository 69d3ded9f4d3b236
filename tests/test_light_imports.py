"""Import weight, checked in fresh interpreters: reading a study imports neither torch nor Ray; the
strategies import neither SQLAlchemy nor Ray; `graph` and `principles` stay free of torch, Ray and
SQLAlchemy; the shared settings import only pydantic; the vocabulary imports nothing of ours or theirs.
(pyproject.toml's import contracts check the same statically; these check what a real import loads.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = str(Path(__file__).parents[1] / "studies" / "quickstart.yaml")
HEAVY = ("torch", "ray", "sqlalchemy", "optuna", "pandas")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("code", "forbidden"),
    [
        (f"from archscale.study import load_study; load_study({QUICKSTART!r})", {"torch", "ray"}),
        ("import archscale.settings", set(HEAVY) | {"yaml"}),
        ("import archscale.strategies", {"sqlalchemy", "ray", "torch"}),
        ("import archscale.graph, archscale.principles", {"torch", "ray", "sqlalchemy"}),
        ("import archscale.vocabulary", set(HEAVY) | {"pydantic", "yaml"}),
        ("import archscale.cli.jobs, archscale.execution.jobs", {"torch", "ray"}),
    ],
)
def test_imports_stay_light(code, forbidden):
    assert not (loaded_after(code) & forbidden)

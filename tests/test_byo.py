"""Bring your own code: plugins (entry points) and a study's `imports:`, loaded in the driver and in
every Ray worker; the example package (examples/byo) run uninstalled from a fresh directory on
embedded Ray; and `archscale submit` shipping it all to the two-node cluster through Ray's runtime
environment. The plugin is a real distribution on sys.path (a `.dist-info` folder with
`entry_points.txt`), the example package is never installed."""

import os
import runpy
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LocalRayCluster

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "byo"
STUDY = ROOT / "studies" / "byo-resnet.yaml"
ARCHSCALE = [sys.executable, "-m", "archscale.cli"]
SMALL = [  # the example study, small: one seed, one epoch, two trials per search, 300 training images
    "--set=training.epochs=1",
    "--set=search.trials=2",
    "--set=seeds=[0]",
    "--set=dataset.limit=300",
]

PLUGIN = """\
import os
from archscale.nn import register_init

with open({marker!r}, "a") as marker:
    marker.write(f"plugin {{os.getpid()}} {{__file__}}\\n")


@register_init("plugin-default")
def _plugin_default(model, degree_rule, readout, gain):
    return {{"init": "plugin-default"}}  # PyTorch's own init, under the plugin's name
"""

IMPORTED = """\
import os
import examples_pkg
from archscale.nn import register_init

with open({marker!r}, "a") as marker:
    marker.write(f"imports {{os.getpid()}} {{examples_pkg.__file__}}\\n")


@register_init("imported-default")
def _imported_default(model, degree_rule, readout, gain):
    return {{"init": "imported-default"}}
"""


def write_plugin(folder: Path, module: str, source: str, value: str | None = None) -> None:
    """A distribution `module` in `folder`: the module, and its metadata declaring one
    `archscale.models` entry point (loading `value`, default the module)."""
    (folder / f"{module}.py").write_text(source)
    metadata = folder / f"{module}-0.1.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (metadata / "entry_points.txt").write_text(f"[archscale.models]\n{module} = {value or module}\n")


def write_data(path: Path) -> None:
    """The example's npz file, written by its own script (examples/byo/make_data.py)."""
    runpy.run_path(str(EXAMPLE / "make_data.py"))["main"](["--out", str(path)])


def markers(path: Path) -> list[tuple[str, int, str]]:
    """(what, pid, file) per line of a marker file."""
    lines = [line.split(" ", 2) for line in path.read_text().splitlines()]
    return [(what, int(pid), file) for what, pid, file in lines]


def test_a_missing_import_stops_the_study_naming_it(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "study.yaml"
    text = STUDY.read_text().replace("name: byo-resnet", "name: byo-resnet\nimports: [no_such_module_xyz]")
    study.write_text(text)
    code, _, err = cli("run", str(study), "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert code == 2
    number = text.splitlines().index("imports: [no_such_module_xyz]") + 1
    line = f"{study}:{number}: imports.0: cannot import 'no_such_module_xyz': ModuleNotFoundError"
    assert err.startswith(f"archscale: error: {line}") and err.count("\n") == 1
    assert not (tmp_path / "r.db").exists()


def test_a_broken_plugin_stops_the_study_naming_it(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path, "broken_plugin", "import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = cli("run", str(STUDY), "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert code == 2
    assert err == (
        "archscale: error: plugin 'broken_plugin' (archscale.models entry point of broken_plugin): cannot load "
        "'broken_plugin': ModuleNotFoundError: No module named 'no_such_dependency_xyz'\n"
    )
    assert not (tmp_path / "r.db").exists()


def test_submit_ships_the_code_and_data_the_study_needs(tmp_path: Path, monkeypatch) -> None:
    """What ships (no cluster): the working directory with the study and its data; the example package,
    importable here from elsewhere, and the plugin's metadata and module as `py_modules`."""
    import archscale.strategies  # noqa: F401  (the strategy kinds parse the study's arms)
    from archscale.execution.shipping import shipment
    from archscale.study import load_study

    work, plugins = tmp_path / "work", tmp_path / "plugins"
    work.mkdir()
    plugins.mkdir()
    write_plugin(plugins, "quiet_plugin", "")
    (work / "quiet_imports.py").write_text("")
    (work / "studies").mkdir()
    study = work / "studies" / "byo.yaml"
    text = STUDY.read_text().replace("name: byo-resnet", "name: byo-resnet\nimports: [quiet_imports]")
    study.write_text(text.replace("../examples/byo/data/digits.npz", "../data/digits.npz"))
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    spec = load_study(study).spec
    shipped = shipment(study, spec, Path())
    assert shipped.working_dir == work and shipped.study == "studies/byo.yaml"
    metadata = plugins / "quiet_plugin-0.1.dist-info"
    assert shipped.py_modules == (EXAMPLE / "examples_pkg", metadata, plugins / "quiet_plugin.py")
    assert shipped.overrides == ("dataset.path=../data/digits.npz",) and not shipped.notes

    outside = shipment(study, spec, tmp_path / "plugins")  # the study is not in it: it travels alone
    assert outside.working_dir is None and outside.study == "byo.yaml"
    assert work / "quiet_imports.py" in outside.py_modules
    assert outside.overrides == (f"dataset.path={work / 'data' / 'digits.npz'}",)
    assert outside.notes == (
        f"dataset.path {work / 'data' / 'digits.npz'} is outside what ships (the study file "
        "alone): every node must have it at that path",
    )


@pytest.mark.slow
def test_the_example_runs_uninstalled_with_plugins_on_embedded_ray(tmp_path: Path) -> None:
    """The example study from a fresh directory holding a copy of the example package (not installed):
    the driver and the workers import it from the current directory, load the plugin (an entry point
    on PYTHONPATH) and the study's `imports:`, whose init schemes two arms use."""
    work, plugins = tmp_path / "work", tmp_path / "plugins"
    work.mkdir()
    plugins.mkdir()
    shutil.copytree(EXAMPLE / "examples_pkg", work / "examples_pkg", ignore=shutil.ignore_patterns("__pycache__"))
    write_data(work / "digits.npz")
    marker = tmp_path / "loaded.txt"
    write_plugin(plugins, "byo_test_plugin", PLUGIN.format(marker=str(marker)))
    (work / "byo_imports.py").write_text(IMPORTED.format(marker=str(marker)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(plugins)}
    command = [
        *ARCHSCALE,
        "run",
        str(STUDY),
        "--db",
        f"sqlite:///{tmp_path / 'r.db'}",
        "--no-compare",
        *SMALL,
        f"--set=dataset.path={work / 'digits.npz'}",
        "--set=imports=[byo_imports]",
        "--set=strategies.fixed.init=plugin-default",
        "--set=strategies.tuned.init=imported-default",
    ]
    driver = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, (out[-2000:], err[-3000:])
    loaded = markers(marker)
    workers = {pid for what, pid, _ in loaded if pid != driver.pid}
    assert {what for what, pid, _ in loaded if pid == driver.pid} == {"plugin", "imports"}
    assert workers and all({"plugin", "imports"} <= {w for w, p, _ in loaded if p == pid} for pid in workers)
    assert {file for what, _, file in loaded if what == "imports"} == {str(work / "examples_pkg" / "__init__.py")}
    with sqlite3.connect(tmp_path / "r.db") as db:
        recipes = dict(db.execute("select arm, recipe from archscale_study_arm").fetchall())
        statuses = {s for (s,) in db.execute("select status from archscale_trial")}
    assert statuses <= {"completed", "diverged"} and "completed" in statuses
    assert "plugin-default" in recipes["fixed"] and "imported-default" in recipes["tuned"]


@pytest.mark.cluster
@pytest.mark.slow
def test_submit_ships_the_example_and_plugins_to_the_cluster(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    """`archscale submit` from a project folder (the study, its data and its `imports:` module) with the
    example package and the plugin importable only here (PYTHONPATH): the cluster's driver and workers
    import all of them from what the runtime environment shipped, none from this machine's folders."""
    work, plugins = tmp_path / "work", tmp_path / "plugins"
    work.mkdir()
    plugins.mkdir()
    write_data(work / "data" / "digits.npz")
    (work / "byo.yaml").write_text(STUDY.read_text().replace("../examples/byo/data/", "data/"))
    marker = tmp_path / "loaded.txt"
    write_plugin(plugins, "byo_test_plugin", PLUGIN.format(marker=str(marker)))
    (work / "byo_imports.py").write_text(IMPORTED.format(marker=str(marker)))
    env = ray_cluster.client_env() | {"PYTHONPATH": os.pathsep.join([str(plugins), str(EXAMPLE)])}
    url = f"sqlite:///{tmp_path / 'r.db'}"
    command = [
        *ARCHSCALE,
        "submit",
        "byo.yaml",
        "--address",
        ray_cluster.dashboard_url,
        "--db",
        url,
        "--wait",
        *SMALL,
        "--set=imports=[byo_imports]",
        "--set=strategies.fixed.init=plugin-default",
    ]
    submit = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = submit.communicate(timeout=300)
    assert submit.returncode == 0, (out[-3000:], err[-3000:])
    assert f"shipping working directory {work}; modules: {EXAMPLE / 'examples_pkg'}" in err
    remote = [(what, pid, file) for what, pid, file in markers(marker) if pid != submit.pid]  # the job's processes
    assert {what for what, _, _ in remote} == {"plugin", "imports"} and len({pid for _, pid, _ in remote}) >= 2
    assert all("/runtime_resources/" in file for _, _, file in remote), remote  # Ray's copies, not ours
    with sqlite3.connect(tmp_path / "r.db") as db:
        statuses = {s for (s,) in db.execute("select status from archscale_trial")}
    assert statuses <= {"completed", "diverged"} and "completed" in statuses

"""Bring your own code: plugins (entry points) and a study's `imports:`, loaded in the driver and in
every Ray worker; the example package (examples/byo) run uninstalled from a fresh directory on
embedded Ray; and `archscale submit` shipping it all to the two-node cluster through Ray's runtime
environment. The plugin is a real distribution on sys.path (a `.dist-info` folder with
`entry_points.txt`), the example package is never installed."""

import importlib
import os
import runpy
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
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


def test_the_committed_data_is_what_the_example_script_writes(tmp_path: Path) -> None:
    """examples/byo/data/digits.npz holds scikit-learn's digits, split by examples/byo/make_data.py."""
    from sklearn.datasets import load_digits

    runpy.run_path(str(EXAMPLE / "make_data.py"))["main"](["--out", str(tmp_path / "digits.npz")])
    with np.load(EXAMPLE / "data" / "digits.npz") as committed, np.load(tmp_path / "digits.npz") as written:
        assert sorted(committed.files) == ["x", "x_test", "y", "y_test"]
        assert all(np.array_equal(committed[name], written[name]) for name in committed.files)
        images = np.concatenate([committed["x"], committed["x_test"]])[:, 0] * 16
        labels = np.concatenate([committed["y"], committed["y_test"]])
    digits = load_digits()
    order = np.lexsort(digits.images.reshape(len(labels), -1).T[::-1])
    mine = np.lexsort(images.reshape(len(labels), -1).T[::-1])
    assert np.array_equal(images[mine], digits.images[order]) and np.array_equal(labels[mine], digits.target[order])


def markers(path: Path) -> list[tuple[str, int, str]]:
    """(what, pid, file) per line of a marker file."""
    lines = [line.split(" ", 2) for line in path.read_text().splitlines()]
    return [(what, int(pid), file) for what, pid, file in lines]


def test_a_missing_import_stops_the_study_naming_it(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "study.yaml"
    text = (
        STUDY.read_text()
        .replace("name: byo-resnet", "name: byo-resnet\nimports: [no_such_module_xyz]")
        .replace("python_path: [../examples/byo]\n", "")
    )
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
    text = text.replace("python_path: [../examples/byo]\n", "")  # the example is on sys.path here
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


def copy_of_the_repository_layout(work: Path) -> Path:
    """`work` laid out as a clone holds the example: studies/byo-resnet.yaml, examples/byo/examples_pkg and
    its data; the study's path."""
    shutil.copytree(
        EXAMPLE, work / "examples" / "byo", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "make_data.py")
    )
    (work / "studies").mkdir()
    return Path(shutil.copy(STUDY, work / "studies" / STUDY.name))


def test_python_path_folders_make_the_example_importable_and_ship_with_the_working_directory(
    tmp_path: Path, monkeypatch
) -> None:
    """The study's `python_path: [../examples/byo]` (relative to the study file) puts the example first on
    the import path; submit keeps it when it lies in the working directory and otherwise drops it from the
    job's study, the package shipping as `py_modules` either way."""
    import archscale.strategies  # noqa: F401  (the strategy kinds parse the study's arms)
    from archscale.execution.shipping import shipment
    from archscale.study import load_study

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "examples_pkg", raising=False)
    monkeypatch.delitem(sys.modules, "examples_pkg.nets", raising=False)
    work = tmp_path / "work"
    study = copy_of_the_repository_layout(work)
    monkeypatch.chdir(tmp_path)
    spec = load_study(study).spec
    folder = work / "examples" / "byo"
    assert spec.python_path == [str(folder)] and sys.path[0] == str(folder)
    assert importlib.import_module("examples_pkg.nets").__file__ == str(folder / "examples_pkg" / "nets.py")

    whole = shipment(study, spec, work)
    assert whole.working_dir == work and whole.py_modules == (folder / "examples_pkg",)
    assert whole.overrides == ("dataset.path=../examples/byo/data/digits.npz",)

    studies_only = shipment(study, spec, work / "studies")  # the example lies outside what ships
    assert studies_only.py_modules == (folder / "examples_pkg",)
    assert studies_only.overrides[-1] == "python_path=[]"


def test_a_missing_python_path_folder_stops_the_study_at_its_line(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "byo.yaml").write_text(STUDY.read_text())  # ../examples/byo is not there
    code, _, err = cli("run", "byo.yaml", "--db", f"sqlite:///{tmp_path / 'r.db'}")
    line = STUDY.read_text().splitlines().index("python_path: [../examples/byo]") + 1
    assert (
        code == 2
        and err
        == f"archscale: error: byo.yaml:{line}: python_path.0: no folder {tmp_path.parent / 'examples' / 'byo'}\n"
    )
    assert not (tmp_path / "r.db").exists()


@pytest.mark.slow
def test_the_example_runs_uninstalled_with_plugins_on_embedded_ray(tmp_path: Path) -> None:
    """The example study as committed (its `python_path` and data; the package is not installed), run from
    another directory: the driver and the workers import the example through `python_path`, load the
    plugin (an entry point on PYTHONPATH) and the study's `imports:` (a module in the current directory),
    whose init schemes two arms use."""
    work, plugins = tmp_path / "work", tmp_path / "plugins"
    work.mkdir()
    plugins.mkdir()
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
    assert {file for what, _, file in loaded if what == "imports"} == {str(EXAMPLE / "examples_pkg" / "__init__.py")}
    with sqlite3.connect(tmp_path / "r.db") as db:
        recipes = dict(db.execute("select arm, recipe from archscale_study_arm").fetchall())
        statuses = {s for (s,) in db.execute("select status from archscale_trial")}
    assert statuses <= {"completed", "diverged"} and "completed" in statuses
    assert "plugin-default" in recipes["fixed"] and "imported-default" in recipes["tuned"]


@pytest.mark.cluster
@pytest.mark.slow
def test_submit_ships_the_example_and_plugins_to_the_cluster(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    """`archscale submit studies/byo-resnet.yaml` from a copy of the repository's layout (the study as
    committed, its `python_path` folder and data, an `imports:` module at the top), the plugin importable
    only here (PYTHONPATH): the cluster's driver and workers import all of them from what the runtime
    environment shipped, none from this machine's folders."""
    work, plugins = tmp_path / "work", tmp_path / "plugins"
    plugins.mkdir()
    copy_of_the_repository_layout(work)
    marker = tmp_path / "loaded.txt"
    write_plugin(plugins, "byo_test_plugin", PLUGIN.format(marker=str(marker)))
    (work / "byo_imports.py").write_text(IMPORTED.format(marker=str(marker)))
    env = ray_cluster.client_env() | {"PYTHONPATH": str(plugins)}
    url = f"sqlite:///{tmp_path / 'r.db'}"
    command = [
        *ARCHSCALE,
        "submit",
        "studies/byo-resnet.yaml",
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
    assert f"shipping working directory {work}; modules: {work / 'examples' / 'byo' / 'examples_pkg'}" in err
    remote = [(what, pid, file) for what, pid, file in markers(marker) if pid != submit.pid]  # the job's processes
    assert {what for what, _, _ in remote} == {"plugin", "imports"} and len({pid for _, pid, _ in remote}) >= 2
    assert all("/runtime_resources/" in file for _, _, file in remote), remote  # Ray's copies, not ours
    with sqlite3.connect(tmp_path / "r.db") as db:
        statuses = {s for (s,) in db.execute("select status from archscale_trial")}
    assert statuses <= {"completed", "diverged"} and "completed" in statuses

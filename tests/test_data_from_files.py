"""Datasets from a user's own files (npz, image-folder, table): loading, splits, standardisation,
models on them, every bad file as one line naming it, the data's digest in the stored study, and
`archscale run` on an npz file end to end (embedded Ray)."""

import hashlib
import sqlite3

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from archscale.data import CropFlip, load_dataset
from archscale.errors import UserError
from archscale.graph import parse_architecture
from archscale.nn import build_model


def blobs(n=60, shape=(4,), classes=3, seed=0):
    """Inputs whose mean depends on the class, and labels 0..classes-1 (each class present)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, *shape)) + y.reshape(-1, *([1] * len(shape))) * 2.0 + 5.0
    return x.astype(np.float32), y


def npz_file(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def one_line_error(call, *fragments):
    """Run `call`; it must raise one UserError line holding every fragment (the file's name among them)."""
    with pytest.raises(UserError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert str(fragment) in message, message
    return message


# --- npz -------------------------------------------------------------------------------------------
def test_npz_flat_loads_with_a_carved_test_split_and_standardised_features(tmp_path):
    x, y = blobs(90)
    path = npz_file(tmp_path, x=x, y=y)
    splits = load_dataset("npz", path=str(path), val_fraction=0.25)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (54, 18, 18)
    assert splits.input_shape == (4,) and splits.num_classes == 3 and splits.augment_padding is None
    assert splits.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert torch.bincount(splits.test.y).tolist() == [6, 6, 6]  # stratified
    pool = torch.cat([splits.train.x, splits.val.x])
    assert abs(pool.mean().item()) < 1e-5 and pool.std().item() == pytest.approx(1, abs=0.02)
    again = load_dataset("npz", path=str(path), val_fraction=0.25, split_seed=1)
    assert torch.equal(again.test.x, splits.test.x)  # the test split depends on test_seed only
    other = load_dataset("npz", path=str(path), test_seed=1)
    assert not torch.equal(other.test.x, splits.test.x)
    per = load_dataset("npz", path=str(path), standardize="per-feature")
    assert per.train.x.mean(dim=0).abs().max().item() < 1e-5
    model = build_model(parse_architecture("2_02", "mlp"), width=8, classes=3, input_shape=splits.input_shape)
    assert model(splits.train.x[:5]).shape == (5, 3)


@pytest.mark.parametrize(
    ("layout", "options"),
    [("nchw", {}), ("nhwc", {"channels_last": True}), ("nhw", {})],
)
def test_npz_images_for_cnns_and_mlps_with_augmentation(tmp_path, layout, options):
    x, y = blobs(40, (3, 16, 16) if layout != "nhw" else (16, 16), classes=2)
    if layout == "nhwc":
        x = x.transpose(0, 2, 3, 1).copy()
    path = npz_file(tmp_path, x=(x * 10).astype(np.uint8), y=y)
    splits = load_dataset("npz", path=str(path), **options)
    channels = 1 if layout == "nhw" else 3
    assert splits.input_shape == (channels, 16, 16) and splits.augment_padding == 2
    assert len(splits.normalization.mean) == channels
    pool = torch.cat([splits.train.x, splits.val.x])
    assert pool.mean(dim=(0, 2, 3)).abs().max().item() < 1e-4
    batch = splits.train.x[:4]
    fill = splits.normalization.raw_zero(channels)
    assert CropFlip(2, fill, torch.Generator().manual_seed(0))(batch).shape == batch.shape
    for family in ("cnn", "mlp"):
        model = build_model(parse_architecture("2_02", family), width=4, classes=2, input_shape=splits.input_shape)
        assert model(batch).shape == (4, 2)
    assert load_dataset("npz", path=str(path), flatten=True, **options).input_shape == (channels * 256,)


def test_npz_given_splits_and_array_names(tmp_path):
    x, y = blobs(90)
    arrays = {"images_train": x[:50], "labels_train": y[:50], "images_val": x[50:70], "labels_val": y[50:70]}
    path = npz_file(tmp_path, **arrays, images_test=x[70:], labels_test=y[70:])
    splits = load_dataset("npz", path=str(path), x="images", y="labels", val_fraction=0.5)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (50, 20, 20)  # val_fraction not used
    assert splits.val.y.tolist() == y[50:70].tolist() and splits.test.y.tolist() == y[70:].tolist()
    assert len(load_dataset("npz", path=str(path), x="images", y="labels", limit=10).train) == 10
    plain = npz_file(tmp_path, "plain.npz", x=x[:60], y=y[:60], x_test=x[60:], y_test=y[60:])  # mnist1d's keys
    splits = load_dataset("npz", path=str(plain), val_fraction=0.0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (60, 0, 30)


def _bad_npz(tmp_path, case):
    x, y = blobs(30)
    cases = {
        "no x": {"inputs": x, "y": y},
        "unknown key": {"x": x, "y": y, "x_tset": x},
        "x and x_train": {"x": x, "x_train": x, "y": y},
        "x_val without y_val": {"x": x, "y": y, "x_val": x},
        "1-d x": {"x": x[:, 0], "y": y},
        "5-d x": {"x": x.reshape(30, 1, 1, 2, 2), "y": y},
        "length mismatch": {"x": x, "y": y[:-1]},
        "2-d labels": {"x": x, "y": y.reshape(-1, 1)},
        "negative label": {"x": x, "y": y - 1},
        "non-integer label": {"x": x, "y": y + 0.5},
        "string labels": {"x": x, "y": y.astype(str)},
        "label out of range": {"x": x, "y": y, "x_test": x[:5], "y_test": np.full(5, 3)},
        "NaN": {"x": np.where(np.arange(30)[:, None] == 3, np.nan, x), "y": y},
        "inf": {"x": np.where(np.arange(30)[:, None] == 3, np.inf, x), "y": y},
        "empty class": {"x": x, "y": np.where(y == 1, 2, y)},
        "one class": {"x": x, "y": np.zeros(30, int)},
        "string inputs": {"x": x.astype(str), "y": y},
        "test shape": {"x": x, "y": y, "x_test": x[:5, :2], "y_test": y[:5]},
    }
    return npz_file(tmp_path, **cases[case])


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("no x", "no array 'x' or 'x_train'"),
        ("unknown key", "unknown array 'x_tset'"),
        ("x and x_train", "both 'x' and 'x_train'"),
        ("x_val without y_val", "has 'x_val' but not 'y_val'"),
        ("1-d x", "x has shape (30,)"),
        ("5-d x", "x has shape (30, 1, 1, 2, 2)"),
        ("length mismatch", "x has 30 examples but y has shape (29,)"),
        ("2-d labels", "but y has shape (30, 1)"),
        ("negative label", "negative label -1"),
        ("non-integer label", "non-integer label 0.5"),
        ("string labels", "labels must be integer class indices"),
        ("label out of range", "test label 3 is out of range"),
        ("NaN", "4 NaN or infinite values"),
        ("inf", "4 NaN or infinite values"),
        ("empty class", "class 1 has no training examples"),
        ("one class", "at least 2 classes"),
        ("string inputs", "not real numbers"),
        ("test shape", "x_test has examples of shape (2,)"),
    ],
)
def test_npz_bad_files_are_one_line_naming_the_file(tmp_path, case, says):
    path = _bad_npz(tmp_path, case)
    one_line_error(lambda: load_dataset("npz", path=str(path)), path, says)


def test_npz_unreadable_missing_and_changed_files(tmp_path):
    missing = tmp_path / "nope.npz"
    one_line_error(lambda: load_dataset("npz", path=str(missing)), missing, "does not exist")
    one_line_error(lambda: load_dataset("npz", path=str(tmp_path)), tmp_path, "is not a file")
    one_line_error(lambda: load_dataset("npz"), "no data file given: set dataset.path")
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    one_line_error(lambda: load_dataset("npz", path=str(text)), text, "cannot read")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    one_line_error(lambda: load_dataset("npz", path=str(single)), single, "not an .npz archive")
    x, y = blobs(30)
    path = npz_file(tmp_path, x=x, y=y)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_dataset("npz", path=str(path), digest=digest).digest == digest
    npz_file(tmp_path, x=x + 1, y=y)
    one_line_error(lambda: load_dataset("npz", path=str(path), digest=digest), path, "changed", digest[:12])


# --- image-folder ------------------------------------------------------------------------------------
def write_images(folder, classes=("cat", "dog"), per_class=5, size=(8, 6), mode="RGB", start=0):
    """`per_class` PNGs of `size` (width, height) in one subfolder per class, class c filled with 40·c."""
    for c, name in enumerate(classes):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 40 * c + 3 * i + start
            Image.new(mode, size, value if mode == "L" else (value, value + 1, value + 2)).save(
                folder / name / f"{i}.png"
            )
    return folder


def test_image_folder_flat_layout_sizes_modes_and_models(tmp_path):
    folder = write_images(tmp_path / "pets", classes=("dog", "cat", "bird"))
    (folder / "cat" / "notes.txt").write_text("skipped: not an image")
    splits = load_dataset("image-folder", path=str(folder), val_fraction=0.0)
    assert splits.class_names == ("bird", "cat", "dog")  # sorted folder names are labels 0..2
    assert splits.input_shape == (3, 6, 8) and splits.num_classes == 3 and splits.augment_padding == 1
    assert (len(splits.train), len(splits.test)) == (12, 3)
    assert splits.normalization.scale == 255
    assert splits.train.x.mean(dim=(0, 2, 3)).abs().max().item() < 1e-5
    assert splits.train.x[splits.train.y == 0].mean() > splits.train.x[splits.train.y == 2].mean()  # 80 vs 0
    model = build_model(parse_architecture("2_02", "cnn"), width=4, classes=3, input_shape=splits.input_shape)
    assert model(splits.train.x[:2]).shape == (2, 3)
    gray = write_images(tmp_path / "gray", mode="L", size=(5, 5))
    assert load_dataset("image-folder", path=str(gray)).input_shape == (1, 5, 5)
    assert load_dataset("image-folder", path=str(gray), mode="RGB").input_shape == (3, 5, 5)
    Image.new("L", (9, 7)).save(gray / "cat" / "big.png")
    resized = load_dataset("image-folder", path=str(gray), size=[4, 6])
    assert resized.input_shape == (1, 4, 6) and len(resized.train) + len(resized.val) + len(resized.test) == 11


def test_image_folder_train_val_test_layout(tmp_path):
    folder = tmp_path / "split"
    write_images(folder / "train", per_class=6)
    write_images(folder / "val", per_class=2, start=1)
    write_images(folder / "test", classes=("dog",), per_class=3, start=2)
    splits = load_dataset("image-folder", path=str(folder), val_fraction=0.5)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (12, 4, 3)
    assert splits.test.y.tolist() == [1, 1, 1] and splits.class_names == ("cat", "dog")


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("no classes", "has no class folders"),
        ("empty class", "has no images"),
        ("broken image", "bad.png as an image"),
        ("mixed sizes", "set options.size"),
        ("unknown test class", "is not a training class"),
        ("folder beside train", "has train/ beside 'extra/'"),
        ("one class", "at least 2 classes"),
    ],
)
def test_image_folder_bad_folders_are_one_line_naming_the_folder(tmp_path, case, says):
    folder = tmp_path / "images"
    folder.mkdir()
    if case == "no classes":
        (folder / "stray.png").write_bytes(b"")
    elif case == "empty class":
        write_images(folder)
        (folder / "emu").mkdir()
    elif case == "broken image":
        write_images(folder)
        (folder / "cat" / "bad.png").write_bytes(b"\x89PNG but not really")
    elif case == "mixed sizes":
        write_images(folder)
        Image.new("RGB", (3, 3)).save(folder / "dog" / "small.png")
    elif case == "unknown test class":
        write_images(folder / "train")
        write_images(folder / "test", classes=("cow",))
    elif case == "folder beside train":
        write_images(folder / "train")
        (folder / "extra").mkdir()
    elif case == "one class":
        write_images(folder, classes=("cat",))
    one_line_error(lambda: load_dataset("image-folder", path=str(folder)), folder, says)


def test_image_folder_missing_options_and_changed_images(tmp_path):
    missing = tmp_path / "none"
    one_line_error(lambda: load_dataset("image-folder", path=str(missing)), missing, "does not exist")
    folder = write_images(tmp_path / "pets")
    one_line_error(lambda: load_dataset("image-folder", path=str(folder), mode="CMYK"), "mode must be")
    one_line_error(lambda: load_dataset("image-folder", path=str(folder), size=[0, 3]), "size must be")
    digest = load_dataset("image-folder", path=str(folder)).digest
    assert digest is not None and load_dataset("image-folder", path=str(folder), digest=digest).digest == digest
    Image.new("RGB", (8, 6), (1, 2, 3)).save(folder / "cat" / "0.png")
    one_line_error(lambda: load_dataset("image-folder", path=str(folder), digest=digest), folder, "changed")


# --- table -------------------------------------------------------------------------------------------
def frame(n=40):
    x, y = blobs(n, (3,))
    return pd.DataFrame(
        {
            "a": x[:, 0],
            "b": x[:, 1].astype(int),
            "flag": x[:, 2] > 6,
            "species": np.array(["setosa", "virginica", "iris"])[y],
        }
    )


def test_table_csv_and_parquet_with_labels_mapped_and_kept(tmp_path):
    csv = tmp_path / "data.csv"
    frame().to_csv(csv, index=False)
    splits = load_dataset("table", path=str(csv), target="species", val_fraction=0.0)
    assert splits.class_names == ("iris", "setosa", "virginica") and splits.num_classes == 3
    assert splits.input_shape == (3,) and (len(splits.train), len(splits.test)) == (31, 9)
    assert splits.train.y.tolist()[:3] == [1, 2, 0]  # setosa, virginica, iris
    parquet = tmp_path / "data.parquet"
    numbers = frame().assign(species=lambda f: f["species"].map({"iris": 10, "setosa": 2, "virginica": 7}))
    numbers.to_parquet(parquet)
    splits = load_dataset("table", path=str(parquet), target="species", features=["a", "b"], standardize="per-feature")
    assert splits.class_names == ("2", "7", "10") and splits.input_shape == (2,)
    assert splits.train.x.mean(dim=0).abs().max().item() < 1e-5
    model = build_model(parse_architecture("2_02", "mlp"), width=8, classes=3, input_shape=splits.input_shape)
    assert model(splits.test.x).shape == (len(splits.test), 3)


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("no target", "no target column given"),
        ("missing target", "no column 'label'"),
        ("text feature", "column 'city' is not numeric"),
        ("missing feature value", "column 'a' has 1 missing or infinite values"),
        ("missing label", "'species' has 1 missing values"),
        ("float labels", "non-integer value 0.5"),
        ("one class", "at least 2 classes"),
        ("garbage parquet", "cannot read it as parquet"),
        ("unknown format", "unknown table format '.xlsx'"),
    ],
)
def test_table_bad_files_are_one_line_naming_the_file(tmp_path, case, says):
    table, target, suffix = frame(), "species", ".csv"
    if case == "no target":
        target = None
    elif case == "missing target":
        target = "label"
    elif case == "text feature":
        table["city"] = "Oslo"
    elif case == "missing feature value":
        table.loc[4, "a"] = np.nan
    elif case == "missing label":
        table.loc[4, "species"] = None
    elif case == "float labels":
        table["species"] = np.arange(len(table)) / 2
    elif case == "one class":
        table["species"] = "iris"
    elif case in ("garbage parquet", "unknown format"):
        suffix = ".parquet" if case == "garbage parquet" else ".xlsx"
    path = tmp_path / f"data{suffix}"
    if case in ("garbage parquet", "unknown format"):
        path.write_text("a,b\n1,2\n")
    else:
        table.to_csv(path, index=False)
    options = {} if target is None else {"target": target}
    one_line_error(lambda: load_dataset("table", path=str(path), **options), path, says)


# --- the study: paths, the data's digest, `archscale run` ----------------------------------------------
STUDY = """\
name: byo
dataset: {{name: npz, path: {path}, val_fraction: 0.25}}
model: {{family: mlp, width: 8}}
architectures: ["2", "2_02"]
training: {{epochs: 1, batch_size: 16}}
seeds: [0]
strategies:
  fixed: {{lr: 0.05}}
"""


def test_relative_paths_are_the_study_files_folders_and_stored_absolute(tmp_path, monkeypatch):
    import archscale.strategies  # noqa: F401  (registers the arm kinds a study names)
    from archscale.study.load import load_study, with_dataset_digest

    (tmp_path / "studies").mkdir()
    study = tmp_path / "studies" / "byo.yaml"
    study.write_text(STUDY.format(path="../data/set.npz"))
    monkeypatch.chdir(tmp_path / "studies")
    loaded = load_study("byo.yaml", ["dataset.x=inputs"])
    assert loaded.spec.dataset.path == str(tmp_path / "data" / "set.npz") and loaded.spec.dataset.x == "inputs"
    assert f"path: {tmp_path / 'data' / 'set.npz'}" in loaded.text
    options = loaded.spec.dataset.load_options()
    assert "target" not in options and "digest" not in options and options["x"] == "inputs"
    pinned = with_dataset_digest(loaded, "ab" * 32)
    assert pinned.spec.dataset.digest == "ab" * 32 and f"digest: {'ab' * 32}" in pinned.text
    assert with_dataset_digest(loaded, None) is loaded


def test_a_study_pins_its_datas_digest_and_refuses_changed_data(tmp_path):
    from rich.console import Console

    from archscale.execution.study_setup import check, set_up
    from archscale.study.load import load_study

    x, y = blobs(40)
    data = npz_file(tmp_path, x=x, y=y)
    study = tmp_path / "byo.yaml"
    study.write_text(STUDY.format(path="data.npz"))
    url = f"sqlite:///{tmp_path / 'results.db'}"
    console = Console(stderr=True)

    def setup(resume=False):
        loaded = load_study(study)
        ready = set_up(check("byo", loaded, console), loaded, url, resume=resume, upgrade_db=True, console=console)
        ready.writer.close()
        return ready

    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert setup().loaded.spec.dataset.digest == digest
    assert setup().study_id == 1  # the same data: the same study
    npz_file(tmp_path, x=x + 1, y=y)
    one_line_error(setup, "exists in", "the data changed", digest[:12], "--new-name")
    one_line_error(lambda: setup(resume=True), data, "changed", digest[:12])


@pytest.mark.slow
def test_archscale_run_on_an_npz_file_and_a_bad_file_writes_nothing(cli, tmp_path):
    import ray

    x, y = blobs(80, (2, 3))
    npz_file(tmp_path, x=x, y=y)
    study = tmp_path / "byo.yaml"
    study.write_text(STUDY.format(path="data.npz"))
    db = tmp_path / "results.db"
    code, _, err = cli("run", str(study), "--db", f"sqlite:///{db}", "--no-compare")
    assert code == 0, err[-3000:]
    with sqlite3.connect(db) as connection:
        statuses = connection.execute("select status from archscale_trial").fetchall()
        (stored,) = connection.execute("select yaml_text from archscale_study").fetchone()
    assert statuses == [("completed",), ("completed",)]
    assert f"path: {tmp_path / 'data.npz'}" in stored and "digest: " in stored

    bad = npz_file(tmp_path, "bad.npz", x=x, y=y - 1)
    study.write_text(STUDY.format(path="bad.npz"))
    never = tmp_path / "never.db"
    code, _, err = cli("run", str(study), "--db", f"sqlite:///{never}", "--no-compare")
    assert code == 2 and err.strip().count("\n") == 0 and "Traceback" not in err
    assert str(bad) in err and "negative label -1" in err
    assert not never.exists() and not ray.is_initialized()

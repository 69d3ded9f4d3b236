"""`table`: a dataset from a Parquet (`.parquet`, `.pq`) or CSV (`.csv`) table, one example per row.

The `target` column holds the class of each row: its distinct values (numbers or strings), sorted,
become labels 0..K-1, and their names are kept (`Splits.class_names`). Every other column (or the
`features` listed) is a numeric feature (bool, integer or float); a non-numeric column, a missing
value or an infinity is an error naming the column. Inputs are flat (N, features).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from archscale.data.files import Examples, build_source, existing, read_file
from archscale.data.registry import Source, register_dataset
from archscale.errors import UserError

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


@register_dataset("table", cache=False)
def table(
    root: Path | None,
    *,
    path: str | None = None,
    target: str | None = None,
    digest: str | None = None,
    features: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    test_seed: int = 0,
) -> Source:
    """The rows of the table at `path` (see the module); a stratified `test_fraction` of them, drawn
    with `test_seed`, is the test split. Features are standardised by one mean and std of the
    training rows (`standardize: per-feature` then scales each column). `root` is ignored."""
    file = existing("table", path, folder=False)
    where = f"table: {file}"
    reader = READERS.get(file.suffix.lower())
    if reader is None:
        raise UserError(f"{where}: unknown table format '{file.suffix}' (expected {', '.join(READERS)})")
    data, found = read_file("table", file, digest)
    try:
        frame = reader(io.BytesIO(data))
    except Exception as error:  # pandas and pyarrow raise many types for a broken file
        raise UserError(f"{where}: cannot read it as {file.suffix.lstrip('.')}: {error}") from None
    columns = [str(c) for c in frame.columns]
    if target is None:
        raise UserError(f"{where}: no target column given: set dataset.target (its columns: {', '.join(columns)})")
    chosen = list(features) if features is not None else [c for c in columns if c != target]
    for column in [target, *chosen]:
        if column not in columns:
            raise UserError(f"{where} has no column '{column}' (its columns: {', '.join(columns)})")
    if target in chosen or not chosen:
        raise UserError(f"{where}: the features must be at least one column other than the target '{target}'")
    labels, names = _labels(where, frame[target])
    return build_source(
        where,
        Examples(np.stack([_feature(where, frame[c]) for c in chosen], axis=1), labels),
        None,
        test_fraction=test_fraction,
        test_seed=test_seed,
        image=False,
        class_names=names,
        digest=found,
    )


def _feature(where: str, column: pd.Series) -> np.ndarray:
    """A numeric column as float64, with no missing or infinite values."""
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise UserError(
            f"{where}: column '{column.name}' is not numeric ({column.dtype}): encode it as numbers, or leave it "
            "out with options.features"
        )
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise UserError(f"{where}: column '{column.name}' has {bad} missing or infinite values")
    return values


def _labels(where: str, column: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """The target's values as labels 0..K-1 (distinct values sorted) and the name of each label."""
    missing = int(column.isna().sum())
    if missing:
        raise UserError(f"{where}: the target column '{column.name}' has {missing} missing values")
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=np.float64)
        odd = values[~np.isfinite(values) | (values != np.round(values))]
        if len(odd):
            raise UserError(
                f"{where}: the target column '{column.name}' has the non-integer value {odd[0]:g}: "
                "a target holds class labels"
            )
        column = column.astype(np.int64)
    elif not (pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column)):
        column = column.astype(str)
    classes, labels = np.unique(column.to_numpy(), return_inverse=True)
    return labels.astype(np.int64), tuple(str(c) for c in classes)

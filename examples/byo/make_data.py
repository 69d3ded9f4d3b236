"""Write the example's data set: scikit-learn's 8x8 handwritten digits (shipped with scikit-learn,
nothing is downloaded) as an `.npz` file archscale reads with `dataset: {name: npz, path: ...}`.

    python examples/byo/make_data.py              # writes examples/byo/data/digits.npz
    python examples/byo/make_data.py --size 16    # 16x16 (nearest-neighbour upsampled), 4x the compute

Arrays: `x` (N, 1, S, S) float32 in [0, 1] and `y` (N,) int64 for training, `x_test`/`y_test` a
stratified fifth held out (seeded), so the test split is fixed by the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent


def digits(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as (N, 1, size, size) float32 images in [0, 1] and int64 labels."""
    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0
    factor = size // 8
    images = images.repeat(factor, axis=1).repeat(factor, axis=2)
    return images[:, None], bunch.target.astype(np.int64)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data" / "digits.npz")
    parser.add_argument("--size", type=int, choices=(8, 16), default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    x, y = digits(args.size)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, x=x_train, y=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {args.out}: {len(x_train)} training and {len(x_test)} test images of {x.shape[1:]}")


if __name__ == "__main__":
    main()

"""`archscale check`: a topology coordinate check (per-node activation RMS, kaiming vs architecture-aware)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

SCHEMES = ("kaiming", "architecture-aware")


def check(
    arch: Annotated[str, typer.Argument(help="An MLP or CNN architecture in any notation.")],
    family: Annotated[str | None, typer.Option(help="mlp or cnn (inferred from the notation when omitted).")] = None,
    width: Annotated[int, typer.Option(help="Hidden width (MLP) or channels (CNN).")] = 512,
    kernel_size: Annotated[int, typer.Option(help="CNN kernel size.")] = 3,
    steps: Annotated[int, typer.Option(help="SGD steps before the activations are measured again.")] = 3,
    lr: Annotated[float, typer.Option(help="Learning rate of the steps (the base LR with --principled).")] = 0.1,
    principled: Annotated[
        bool, typer.Option(help="Architecture-aware init steps with the principled LR (lr × the paper's scale).")
    ] = False,
    batch: Annotated[int, typer.Option(help="Gaussian inputs per measurement.")] = 256,
    seed: Annotated[int, typer.Option(help="Seed of the inputs, labels and weights.")] = 0,
    plot: Annotated[Path | None, typer.Option(help="Also draw the RMS per node to this PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of the table.")] = False,
) -> None:
    """Does the signal stay Θ(1) across the graph? RMS of every node at init and its change after K steps."""
    from archscale.errors import UserError
    from archscale.graph import Family, parse_architecture
    from archscale.nn.coord_check import coordinate_check
    from archscale.principles import lr_scale

    architecture = parse_architecture(arch, family, kernel_size)
    if architecture.family is Family.NB201:
        raise UserError("the coordinate check covers MLP and CNN DAGs (NAS-Bench-201 cells have BN everywhere)")
    if not architecture.graph.has_path():
        raise UserError(f"architecture '{arch}' has no input→output path")
    if lr <= 0 or steps < 0 or width < 1 or batch < 2:
        raise UserError("--lr must be positive, --steps >= 0, --width >= 1 and --batch >= 2")
    scaled = lr * (lr_scale(architecture).lr_factor or 1.0) if principled else lr
    results = [
        coordinate_check(
            architecture,
            scheme,
            lr=scaled if scheme == "architecture-aware" else lr,
            width=width,
            steps=steps,
            batch=batch,
            seed=seed,
        )
        for scheme in SCHEMES
    ]
    if as_json:
        print(
            json.dumps(
                {
                    "arch": arch,
                    "family": architecture.family.value,
                    "width": width,
                    "steps": steps,
                    "schemes": {
                        r.scheme: {
                            "lr": r.lr,
                            "growth": r.growth(),
                            "nodes": [
                                {"node": n.node, "rms_init": n.rms_init, "rms_delta": n.rms_delta} for n in r.nodes
                            ],
                        }
                        for r in results
                    },
                }
            )
        )
    else:
        _table(arch, results, width, steps)
    if plot is not None:
        _plot(plot, arch, results, steps)


def _table(arch: str, results: list, width: int, steps: int) -> None:
    from rich.console import Console
    from rich.table import Table

    kaiming, aware = results
    table = Table(title=f"coordinate check of {arch} at width {width}: activation RMS per node")
    table.add_column("node", justify="right")
    table.add_column("kaiming, init", justify="right")
    table.add_column("arch-aware, init", justify="right")
    table.add_column(f"kaiming, Δ after {steps} steps (lr {kaiming.lr:.3g})", justify="right")
    table.add_column(f"arch-aware, Δ after {steps} steps (lr {aware.lr:.3g})", justify="right")
    for k, a in zip(kaiming.nodes, aware.nodes, strict=True):
        table.add_row(str(k.node), f"{k.rms_init:.3f}", f"{a.rms_init:.3f}", f"{k.rms_delta:.3f}", f"{a.rms_delta:.3f}")
    console = Console()
    console.print(table)
    console.print(
        f"growth of the RMS from node 0 to the output: kaiming ×{kaiming.growth():.2f}, "
        f"architecture-aware ×{aware.growth():.2f} (×1 = preserved)"
    )


def _plot(path: Path, arch: str, results: list, steps: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for r in results:
        nodes = [n.node for n in r.nodes]
        left.plot(nodes, [n.rms_init for n in r.nodes], marker="o", label=r.scheme)
        right.plot(nodes, [n.rms_delta for n in r.nodes], marker="o", label=f"{r.scheme} (lr {r.lr:.3g})")
    left.set(title="at initialisation", xlabel="node", ylabel="activation RMS")
    right.set(title=f"change after {steps} SGD steps", xlabel="node", ylabel="RMS of the change")
    for axis in (left, right):
        axis.set_yscale("log")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend()
        axis.grid(alpha=0.3)
    fig.suptitle(f"Coordinate check of {arch}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

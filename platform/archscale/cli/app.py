"""The typer application. Each command lives in its own module and imports heavy modules lazily,
so that `archscale lr` starts in a fraction of a second."""

from __future__ import annotations

import gc
import sys
from typing import Annotated

import typer

from archscale.cli import benchmark, check, compare, db, jobs, lr, model, plan, reproduce, results, run
from archscale.errors import UserError

app = typer.Typer(
    name="archscale",
    help="Hyperparameter-comparison studies: Optuna-tuned vs principled architecture-aware learning rates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("lr")(lr.lr)
app.command("model")(model.model)
app.command("check")(check.check)
app.add_typer(db.app, name="db")
app.command("studies")(results.studies)
app.command("results")(results.results)
app.command("query")(results.query)
app.command("plan")(plan.plan)
app.command("run")(run.run)
app.command("schema")(run.schema)
app.command("compare")(compare.compare)
app.command("reproduce")(reproduce.reproduce)
app.add_typer(benchmark.app, name="benchmark")
app.command("submit")(jobs.submit)
app.command("status")(jobs.status)
app.command("logs")(jobs.logs)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """archscale: tuned vs principled hyperparameters, on Ray Tune, into SQL."""
    if version:
        from archscale import __version__

        print(__version__)
        raise typer.Exit()


def fail(message: str) -> None:
    """Print one error line to stderr and exit with status 2."""
    print(f"archscale: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    """Console entry point: user errors become one line and exit status 2, never a traceback."""
    try:
        app()
    except UserError as exc:
        fail(str(exc))


def script() -> None:
    """The `archscale` program: `main`, then a quick exit. After torch, Ray and pandas the interpreter's
    shutdown spends about a second in repeated garbage collections over millions of objects (measured
    at the end of `archscale run`); one collection here (which also closes database connections caught
    in reference cycles) and `gc.freeze`, which keeps later ones off what is left, take a fifth of it.
    The collection waits for a Ray session's background shutdown (`ray_runtime`) to end first."""
    try:
        main()
    finally:
        if (ray_runtime := sys.modules.get("archscale.execution.ray_runtime")) is not None:
            ray_runtime.wait_for_shutdown()
        gc.collect()
        gc.freeze()

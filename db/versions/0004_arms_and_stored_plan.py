"""Arms and the stored plan.

- Trials: `strategy` (CHECKed against four kinds) becomes `kind` (free text: a new strategy kind needs
  no migration), plus the trial's `arm` (existing rows: arm = kind) and its search `repeat` (0); the
  natural key is (study, architecture, arm, phase, seed, trial number, repeat).
- The plan tables `archscale_study_architecture`, `archscale_study_arm`, `archscale_study_search`,
  `archscale_choice` and the column `archscale_study.plan`. Existing studies get their plan from their
  rows: architectures with the statistics their shared row held (release 1 kept the last writer's
  values there: a study run after another over the same graphs left its own), arms from their trials'
  strategies with their YAML settings, searches from the trials' Optuna studies, and choices from the
  final runs' learning rates.
- Study-specific columns leave `archscale_architecture` (their values moved to the study's rows).
- Epochs gain `train_loss_tail`; the `archscale_results` view gains arm, kind and repeat.

Every existing row is kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import contextlib
import json
import statistics
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
LR = {
    "sqlite": "json_extract(t.hyperparameters, '$.lr')",
    "postgresql": (
        "CASE WHEN jsonb_typeof(t.hyperparameters -> 'lr') = 'number' "
        "THEN (t.hyperparameters ->> 'lr')::double precision END"
    ),
}
RESULTS_VIEW = """
CREATE VIEW archscale_results AS
SELECT s.name AS study, a.notation AS architecture, a.family, a.graph_hash,
       t.arm, t.kind, t.phase, t.repeat, t.seed, t.trial_number, t.status, {lr} AS lr,
       t.budget_reached, t.selected_epoch, t.val_loss, t.val_accuracy, t.test_loss, t.test_accuracy,
       t.device_kind, t.device_seconds, t.wall_seconds, t.started_at, t.finished_at, t.id AS trial_id
FROM archscale_trial t
JOIN archscale_study s ON s.id = t.study_id
JOIN archscale_architecture a ON a.id = t.architecture_id
"""
MOVED = ("n_params", "paths", "depth_cubed_sum", "principled_scale")


def _old_trial(metadata: sa.MetaData, *, new_columns: bool) -> sa.Table:
    """archscale_trial as revisions 0001-0003 left it (plus this revision's first columns)."""
    extra = (
        [
            sa.Column("arm", sa.String(64)),
            sa.Column("kind", sa.String(64)),
            sa.Column("repeat", sa.Integer(), nullable=False),
        ]
        if new_columns
        else []
    )
    return sa.Table(
        "archscale_trial",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "study_id",
            sa.Integer(),
            sa.ForeignKey("archscale_study.id", ondelete="CASCADE", name="fk_archscale_trial_study_id"),
            nullable=False,
        ),
        sa.Column(
            "architecture_id",
            sa.Integer(),
            sa.ForeignKey("archscale_architecture.id", name="fk_archscale_trial_architecture_id"),
            nullable=False,
        ),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("trial_number", sa.Integer(), nullable=False),
        sa.Column("hyperparameters", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("budget_reached", sa.Integer()),
        sa.Column("selected_epoch", sa.Integer()),
        sa.Column("val_loss", sa.Double()),
        sa.Column("val_accuracy", sa.Double()),
        sa.Column("test_loss", sa.Double()),
        sa.Column("test_accuracy", sa.Double()),
        sa.Column("device_kind", sa.String(64)),
        sa.Column("device_seconds", sa.Double()),
        sa.Column("wall_seconds", sa.Double()),
        sa.Column("started_at", TIMESTAMP),
        sa.Column("finished_at", TIMESTAMP),
        sa.Column("ray_trial_id", sa.String(64)),
        sa.Column("optuna_study", sa.String(255)),
        sa.Column("error", sa.Text()),
        sa.Column("node_id", sa.String(64)),
        *extra,
        sa.UniqueConstraint(
            "study_id", "architecture_id", "strategy", "phase", "seed", "trial_number", name="uq_archscale_trial_key"
        ),
        sa.CheckConstraint("strategy IN ('fixed', 'principled', 'tuned', 'probe')", name="ck_archscale_trial_strategy"),
        sa.CheckConstraint("phase IN ('base-search', 'search', 'final', 'probe')", name="ck_archscale_trial_phase"),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'pruned', 'diverged', 'failed')",
            name="ck_archscale_trial_status",
        ),
        sa.CheckConstraint("seed >= 0 AND trial_number >= 0", name="ck_archscale_trial_numbers"),
    )


def _old_architecture(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "archscale_architecture",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("graph_hash", sa.String(64), nullable=False),
        sa.Column("notation", sa.Text(), nullable=False),
        sa.Column("family", sa.String(16), nullable=False),
        sa.Column("kernel_size", sa.Integer()),
        sa.Column("n_params", sa.BigInteger()),
        sa.Column("paths", sa.Double()),
        sa.Column("depth_cubed_sum", sa.Double()),
        sa.Column("principled_scale", sa.Double()),
        sa.UniqueConstraint("graph_hash", name="uq_archscale_architecture_graph_hash"),
        sa.CheckConstraint("family IN ('mlp', 'cnn', 'nb201')", name="ck_archscale_architecture_family"),
    )


def upgrade() -> None:
    op.execute("DROP VIEW archscale_results")
    _create_plan_tables()
    with op.batch_alter_table("archscale_study") as batch:
        batch.add_column(sa.Column("plan", JSON, nullable=True))
    with op.batch_alter_table("archscale_epoch") as batch:
        batch.add_column(sa.Column("train_loss_tail", sa.Double(), nullable=True))

    op.drop_index("ix_archscale_trial_study_strategy", "archscale_trial")
    op.drop_index("ix_archscale_trial_architecture", "archscale_trial")
    with op.batch_alter_table("archscale_trial", copy_from=_old_trial(sa.MetaData(), new_columns=False)) as batch:
        batch.add_column(sa.Column("arm", sa.String(64), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(64), nullable=True))
        batch.add_column(sa.Column("repeat", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE archscale_trial SET arm = strategy, kind = strategy")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:  # revision 0001 named PostgreSQL's checks twice over (the naming convention wrapped them)
        for name in ("ck_archscale_trial_strategy", "ck_archscale_trial_ck_archscale_trial_strategy"):
            op.execute(f"ALTER TABLE archscale_trial DROP CONSTRAINT IF EXISTS {name}")
    with op.batch_alter_table("archscale_trial", copy_from=_old_trial(sa.MetaData(), new_columns=True)) as batch:
        batch.drop_constraint(op.f("uq_archscale_trial_key"), type_="unique")
        if sqlite:
            batch.drop_constraint(op.f("ck_archscale_trial_strategy"), type_="check")
        batch.drop_column("strategy")
        batch.alter_column("arm", existing_type=sa.String(64), nullable=False)
        batch.alter_column("kind", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(
            op.f("uq_archscale_trial_key"),
            ["study_id", "architecture_id", "arm", "phase", "seed", "trial_number", "repeat"],
        )
    op.create_index("ix_archscale_trial_study_arm", "archscale_trial", ["study_id", "arm", "phase"])
    op.create_index("ix_archscale_trial_architecture", "archscale_trial", ["architecture_id", "arm"])

    _plan_existing_studies(op.get_bind())
    with op.batch_alter_table("archscale_architecture", copy_from=_old_architecture(sa.MetaData())) as batch:
        for column in MOVED:
            batch.drop_column(column)
    op.execute(RESULTS_VIEW.format(lr=LR[op.get_bind().dialect.name]))


def _study_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["study_id"], ["archscale_study.id"], name=f"fk_{table}_study_id", ondelete="CASCADE"
    )


def _arch_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["architecture_id"], ["archscale_architecture.id"], name=f"fk_{table}_architecture_id"
    )


def _create_plan_tables() -> None:
    op.create_table(
        "archscale_study_architecture",
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("architecture_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("is_base", sa.Boolean(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("kernel_size", sa.Integer(), nullable=True),
        sa.Column("convention", sa.String(16), nullable=True),
        sa.Column("paths", sa.Double(), nullable=True),
        sa.Column("depth_cubed_sum", sa.Double(), nullable=True),
        sa.Column("principled_scale", sa.Double(), nullable=True),
        sa.Column("n_params", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("study_id", "architecture_id", name="pk_archscale_study_architecture"),
        _study_fk("archscale_study_architecture"),
        _arch_fk("archscale_study_architecture"),
    )
    op.create_table(
        "archscale_study_arm",
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("recipe", JSON, nullable=False),
        sa.PrimaryKeyConstraint("study_id", "arm", name="pk_archscale_study_arm"),
        _study_fk("archscale_study_arm"),
    )
    op.create_table(
        "archscale_study_search",
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("architecture_id", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("arms", JSON, nullable=False),
        sa.Column("budget", JSON, nullable=False),
        sa.PrimaryKeyConstraint("study_id", "name", name="pk_archscale_study_search"),
        _study_fk("archscale_study_search"),
        _arch_fk("archscale_study_search"),
    )
    op.create_table(
        "archscale_choice",
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("architecture_id", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("lr", sa.Double(), nullable=False),
        sa.Column("search", sa.String(255), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("chosen_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("study_id", "arm", "architecture_id", "repeat", name="pk_archscale_choice"),
        _study_fk("archscale_choice"),
        _arch_fk("archscale_choice"),
    )


def _stored_yaml(text: str) -> dict[str, Any]:
    """A release-1 study's YAML with its `# --set` lines applied (empty when it does not parse)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    for line in text.splitlines():
        if line.startswith("# --set "):
            key, _, value = line.removeprefix("# --set ").partition("=")
            *parents, last = key.strip().split(".")
            node = data
            for part in parents:
                node = node.setdefault(part, {}) if isinstance(node, dict) else {}
            if isinstance(node, dict):
                with contextlib.suppress(yaml.YAMLError):
                    node[last] = yaml.safe_load(value)
    return data


def _statistics(a: Any, convention: str, base: Any) -> tuple[float | None, float | None, float | None]:
    """Paths, S and the principled scale of an architecture under the study's own convention,
    recomputed from its notation (release 1's shared row held the last writer's); the stored values
    when the notation cannot be read."""
    try:
        from archscale.graph import Family, parse_architecture
        from archscale.principles import Convention, default_base, lr_scale

        arch = parse_architecture(a.notation.split(" @ ")[0], a.family, a.kernel_size or 3)
        rule = Convention(convention)
        base_arch = (
            parse_architecture(base, a.family, a.kernel_size or 3) if base else default_base(rule, Family(a.family))
        )
        scale = lr_scale(arch, rule, base_arch)
        S = float(scale.stats.S) if scale.stats.S is not None else None
        return float(scale.stats.paths), S, scale.lr_factor
    except Exception:
        return a.paths, a.depth_cubed_sum, a.principled_scale


def _plan_existing_studies(bind: sa.Connection) -> None:
    meta = sa.MetaData()
    study = sa.Table("archscale_study", meta, autoload_with=bind)
    arch = _old_architecture(meta)
    trial = sa.Table("archscale_trial", meta, autoload_with=bind)
    tables = {
        name: sa.Table(name, meta, autoload_with=bind)
        for name in (
            "archscale_study_architecture",
            "archscale_study_arm",
            "archscale_study_search",
            "archscale_choice",
        )
    }
    archs = {row.id: row for row in bind.execute(sa.select(arch))}
    studies_of: dict[int, set[int]] = {}
    for study_id, architecture_id in bind.execute(sa.select(trial.c.study_id, trial.c.architecture_id).distinct()):
        studies_of.setdefault(architecture_id, set()).add(study_id)
    for s in bind.execute(sa.select(study.c.id, study.c.yaml_text, study.c.finished_at, study.c.created_at)).all():
        data = _stored_yaml(s.yaml_text)
        strategies = data.get("strategies") if isinstance(data.get("strategies"), dict) else {}
        model = data.get("model") if isinstance(data.get("model"), dict) else {}
        rows = bind.execute(sa.select(trial).where(trial.c.study_id == s.id).order_by(trial.c.id)).all()
        kinds = list(dict.fromkeys(r.kind for r in rows))
        arms = [k for k in ("fixed", "principled", "tuned", "probe") if k in strategies or k in kinds]
        finals = [r for r in rows if r.phase == "final"]
        listed = list(dict.fromkeys(r.architecture_id for r in rows if r.phase in ("search", "final")))
        if not finals:
            listed += [a for a in dict.fromkeys(r.architecture_id for r in rows) if a not in listed]
        bases = {r.architecture_id for r in rows if r.phase == "base-search"}
        if not bases:
            ones = [a for a in listed if archs[a].principled_scale == 1.0]
            bases = set(ones[:1])
        used = list(dict.fromkeys([*listed, *sorted(bases)]))
        convention = next(
            (
                str(strategies[k].get("convention", "official"))
                for k in ("principled", "probe")
                if isinstance(strategies.get(k), dict)
            ),
            "official",
        )
        principled = strategies.get("principled") if isinstance(strategies.get("principled"), dict) else {}
        for architecture_id in used:
            a = archs[architecture_id]
            is_listed = architecture_id in listed
            paths, S, scale = _statistics(a, convention, principled.get("base"))
            bind.execute(
                tables["archscale_study_architecture"]
                .insert()
                .values(
                    study_id=s.id,
                    architecture_id=architecture_id,
                    position=listed.index(architecture_id) if is_listed else -1,
                    listed=is_listed,
                    is_base=architecture_id in bases,
                    width=model.get("width"),
                    kernel_size=a.kernel_size,
                    convention=convention,
                    paths=paths,
                    depth_cubed_sum=S,
                    principled_scale=scale,
                    n_params=a.n_params if len(studies_of.get(architecture_id, ())) <= 1 else None,
                )
            )
        for position, name in enumerate(arms):
            settings = strategies.get(name) if isinstance(strategies.get(name), dict) else {}
            bind.execute(
                tables["archscale_study_arm"]
                .insert()
                .values(
                    study_id=s.id,
                    arm=name,
                    kind=name,
                    position=position,
                    label=name,
                    final=name != "probe",
                    settings=json.loads(json.dumps({"kind": name, **settings}, default=str)),
                    recipe={},
                )
            )
        fixed_base = isinstance(strategies.get("fixed"), dict) and strategies["fixed"].get("lr", "base") == "base"
        searches: dict[str, Any] = {}
        for r in rows:
            if r.optuna_study and r.optuna_study not in searches:
                charged = [r.kind] + (
                    ["fixed"] if r.phase == "base-search" and fixed_base and r.kind != "fixed" else []
                )
                searches[r.optuna_study] = r
                count = sum(1 for x in rows if x.optuna_study == r.optuna_study)
                bind.execute(
                    tables["archscale_study_search"]
                    .insert()
                    .values(
                        study_id=s.id,
                        name=r.optuna_study,
                        phase=r.phase,
                        architecture_id=r.architecture_id,
                        repeat=0,
                        seed=r.seed,
                        scope="study" if r.phase == "base-search" else "architecture",
                        arms=charged,
                        budget={"trials": count},
                    )
                )
        lrs: dict[tuple[str, int], list[float]] = {}
        for r in finals:
            lr = (
                (r.hyperparameters or {}).get("lr")
                if isinstance(r.hyperparameters, dict)
                else json.loads(r.hyperparameters or "{}").get("lr")
            )
            if isinstance(lr, int | float):
                lrs.setdefault((r.kind, r.architecture_id), []).append(float(lr))
        for (name, architecture_id), values in lrs.items():
            bind.execute(
                tables["archscale_choice"]
                .insert()
                .values(
                    study_id=s.id,
                    arm=name,
                    architecture_id=architecture_id,
                    repeat=0,
                    lr=statistics.median(values),
                    search=None,
                    source="the final runs' LR (migrated from release 1)",
                    chosen_at=s.finished_at or s.created_at,
                )
            )
        final_arms = [a for a in arms if a != "probe"]
        pairs = [["principled", o] for o in final_arms if o != "principled"] if "principled" in final_arms else []
        plan = {
            "seeds": sorted({r.seed for r in finals}) or list(data.get("seeds") or []),
            "search_seeds": sorted({r.seed for r in rows if r.phase in ("search", "base-search")}),
            "search_repeats": 1,
            "pairs": pairs,
            "chance": None,
        }
        bind.execute(study.update().where(study.c.id == s.id).values(plan=plan))


def downgrade() -> None:
    raise NotImplementedError("0004 moves study-specific facts into the plan tables; restore a backup to go back")

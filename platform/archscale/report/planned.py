"""What a study planned, read from the YAML stored with it: strategies, seeds, listed architectures,
the base network. The report compares what exists against this, so it can say what is missing.

The stored text is the YAML verbatim plus one `# --set key.path=value` comment per override (see
`archscale.study.load`); the overrides are applied here the same way. A text that no longer validates
(an older version of the schema) yields a plan with `problem` set, and the report falls back to what
the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STRATEGY_ORDER = ("fixed", "principled", "tuned", "probe")
SET_PREFIX = "# --set "


@dataclass(frozen=True)
class Planned:
    """`fixed_lr`: a number, "base", or None without a fixed strategy; `principled_base_lr`: the given base
    LR (None when it is searched); `base_search_owner`: the strategy whose phase `base-search` is;
    `listed`: graph hashes of the user's architectures in order; `base_hash`: the base network's."""

    strategies: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    fixed_lr: float | str | None = None
    principled_base_lr: float | None = None
    base_search_owner: str | None = None
    listed: tuple[str, ...] = ()
    base_hash: str | None = None
    epochs: int | None = None
    probe_criterion: str | None = None
    problem: str | None = None

    @property
    def known(self) -> bool:
        return self.problem is None


def read_plan(name: str, yaml_text: str) -> Planned:
    """The plan of the study `name` from its stored YAML; never raises (see `Planned.problem`)."""
    try:
        return _plan(name, yaml_text)
    except Exception as exc:  # the report must still show what the database holds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Planned(problem=f"the stored study YAML could not be read ({first})")


def _plan(name: str, yaml_text: str) -> Planned:
    import yaml

    from archscale.strategies.plan import StudyContext, base_search_spec
    from archscale.study.architectures import expand_architectures
    from archscale.study.spec import StudySpec

    data = yaml.safe_load(yaml_text)
    for line in yaml_text.splitlines():
        if line.startswith(SET_PREFIX):
            _apply(data, line.removeprefix(SET_PREFIX))
    spec = StudySpec.model_validate(data)
    archs, _ = expand_architectures(spec.architectures, spec.model)
    context = StudyContext.build(name, spec, archs)
    s = spec.strategies
    owner = base_search_spec(spec)
    principled_base = s.principled.base_lr if s.principled is not None else None
    return Planned(
        strategies=tuple(k for k in STRATEGY_ORDER if getattr(s, k) is not None),
        seeds=tuple(spec.seeds),
        fixed_lr=(s.fixed.lr if s.fixed is not None else None),
        principled_base_lr=float(principled_base) if isinstance(principled_base, int | float) else None,
        base_search_owner=owner[0].value if owner is not None else None,
        listed=tuple(info.key for info in context.study_archs()),
        base_hash=context.base_key,
        epochs=spec.training.epochs,
        probe_criterion=s.probe.criterion if s.probe is not None else None,
    )


def _apply(data: dict[str, Any], override: str) -> None:
    """Apply one `key.path=value` override (the value parsed as YAML), as `archscale run --set` did."""
    import yaml

    key, _, value = override.partition("=")
    *parents, last = key.strip().split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = yaml.safe_load(value)

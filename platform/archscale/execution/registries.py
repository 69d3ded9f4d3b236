"""A study's names that only the registries can check (the dataset, every arm's init scheme): checked
before a run, in the driver, where importing torch is paid anyway; never when a YAML is read (`study`
stays importable without torch)."""

from __future__ import annotations

from archscale.errors import UserError
from archscale.study.spec import StudySpec


def check_registries(spec: StudySpec) -> None:
    """The dataset and every arm's init scheme are registered (imports torch: called before a run,
    not when a YAML is read)."""
    from archscale.data import list_datasets
    from archscale.nn import list_init_schemes

    if spec.dataset.name not in list_datasets():
        known = ", ".join(list_datasets())
        raise UserError(f"dataset.name: unknown dataset '{spec.dataset.name}'; known: {known}")
    schemes = list_init_schemes()
    for name, arm in spec.strategies.items():
        scheme = spec.arm_init(arm)["init"]
        if scheme not in schemes:
            field = f"strategies.{name}.init" if arm.init else "model.init"
            raise UserError(f"{field}: unknown init scheme '{scheme}'; known: {', '.join(schemes)}")

"""`mup`: the μP baseline of the paper's App. E.3 (Yang et al.'s μP through microsoft's `mup`, "basic
usage"): every architecture is built μP-parametrised (base shapes from the same network at `base_width`,
`MuReadout`), drawn with μP's init and trained with MuSGD at one LR for every architecture: a number
(default 0.1, NAS-Bench-201's LR, as in the paper's comparison) or `base`, the LR the study's search
finds on the base network under μP (like `fixed: base`). The study's training recipe otherwise.

`base_width` is where μP equals the standard parametrisation, so the LR is meant for that width; by
default the family's standard width (MLP 128, CNN 32 channels, NAS-Bench-201 C = 16; see
`archscale.nn.mup`). At a model width equal to `base_width`, μP changes only the init.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from archscale.graph import Architecture
from archscale.settings import MupSettings
from archscale.strategies.base_lr import base_search_need
from archscale.strategies.context import ArchInfo, StudyContext, base_of, study_convention
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, register_strategy
from archscale.study.spec import StudySpec


@register_strategy("mup")
class Mup(Strategy):
    settings = MupSettings

    def label(self, name: str, arm: MupSettings) -> str:
        return "μP" if name == self.kind else name

    def model_options(self, name: str, arm: MupSettings, ctx: StudyContext) -> dict[str, Any]:
        return {"parametrization": "mup", "mup_base_width": arm.base_width}

    def base_network(self, arm: MupSettings, spec: StudySpec) -> Architecture | None:
        return base_of(spec, arm.base, study_convention(spec)) if arm.lr == "base" else None

    def _search(self, name: str, arm: MupSettings, ctx: StudyContext) -> SearchNeed:
        need = base_search_need(ctx, arm, arm.search, arm.base)
        return dataclasses.replace(need, model=self.model_options(name, arm, ctx))

    def searches(self, name: str, arm: MupSettings, ctx: StudyContext) -> list[SearchNeed]:
        return [self._search(name, arm, ctx)] if arm.lr == "base" else []

    def final_lr(self, name: str, arm: MupSettings, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        if arm.lr != "base":
            given = "lr" in arm.model_fields_set
            return Choice(float(arm.lr), None, "given, MuSGD" if given else "the paper's μP LR (NAS-Bench-201's 0.1)")
        best = found.get(self._search(name, arm, ctx))
        return Choice(best[0], best[1], "base network's searched LR under μP") if best is not None else None

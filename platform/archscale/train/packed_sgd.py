"""`PackedSGD`: torch.optim.SGD's update over a pack's member-major parameters, with hyperparameters
per member (`archscale.train.packed`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from archscale.nn.packed import members_view


class PackedSGD:
    """torch.optim.SGD (no dampening) over member-major packed parameters, hyperparameters per member.

    For each parameter, member by member: `g = grad + weight_decay·p`; with momentum the buffer is
    `g` at the first step and `momentum·buf + g` after; the direction is `g + momentum·buf` (Nesterov)
    or `buf`; `p -= lr·direction`. A member with momentum 0 steps on `g` alone, as SGD does. `step`
    takes this step's K learning rates: a member given 0 keeps its parameters as they are.
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        members: int,
        *,
        momentum: Sequence[float],
        nesterov: Sequence[bool],
        weight_decay: Sequence[float],
    ) -> None:
        self.params = list(params)
        self.members = members
        device = self.params[0].device
        self._momentum = torch.tensor(momentum, dtype=torch.float32, device=device)
        self._nesterov = torch.tensor(nesterov, dtype=torch.bool, device=device)
        self._weight_decay = torch.tensor(weight_decay, dtype=torch.float32, device=device)
        self._uses_momentum = any(m != 0 for m in momentum)
        self._nesterov_mix = "none" if not any(nesterov) else "all" if all(nesterov) else "some"
        self._uses_weight_decay = any(w != 0 for w in weight_decay)
        self._buffers: list[Tensor | None] = [None] * len(self.params)

    def keep(self, members: Sequence[int], params: Iterable[nn.Parameter]) -> None:
        """Go on with only the members at these indices (in this order) and `params`, the parameters of
        the pack that keeps them (`PackedModel.keep`), in the same order as before."""
        index = torch.tensor(members, device=self._momentum.device)
        self.params = list(params)
        self._buffers = [
            None if buf is None else members_view(buf, self.members)[index].flatten(0, 1) for buf in self._buffers
        ]
        self._momentum = self._momentum[index]
        self._nesterov = self._nesterov[index]
        self._weight_decay = self._weight_decay[index]
        self.members = len(members)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: Tensor) -> None:
        """One update with learning rates `lr` (K,) on the parameters' device."""
        for i, param in enumerate(self.params):
            if param.grad is None:
                continue
            p, g = members_view(param, self.members), members_view(param.grad, self.members)
            shape = (self.members,) + (1,) * (p.dim() - 1)
            if self._uses_weight_decay:
                g = torch.addcmul(g, self._weight_decay.view(shape), p)
            if self._uses_momentum:
                momentum = self._momentum.view(shape)
                buf = self._buffers[i]
                if buf is None:
                    buf = self._buffers[i] = g.clone()
                else:
                    buf.mul_(momentum).add_(g)
                if self._nesterov_mix == "all":
                    g = torch.addcmul(g, momentum, buf)
                elif self._nesterov_mix == "some":
                    g = torch.where(self._nesterov.view(shape), torch.addcmul(g, momentum, buf), buf)
                else:
                    g = buf
            p.addcmul_(g, lr.view(shape), value=-1)

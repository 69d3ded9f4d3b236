"""K models of one structure as one packed model whose members never mix.

    packed = pack_models([build_and_init(seed) for seed in range(4)])
    logits = packed(x)                           # x (B, K, *input_shape) -> (B, K, classes)
    model.load_state_dict(packed.member_state_dict(2))

The transformation is structure-agnostic: a deep copy of the first member keeps its own `forward`
code, and every leaf module is replaced by its packed equivalent (`register_packer`): a Linear by a
batched matrix product (weight (K, in, out)), a Conv1d/Conv2d by a grouped convolution (groups = K ×
groups; on the CPU computed member by member), a BatchNorm over C channels by one over K·C channels
(exactly per member), stateless element-wise, pooling and per-channel modules by themselves. A module
type without a packer is an error, never a silent mix of members.

Layout contract, member-major everywhere:
- activations: (B, K·C, *spatial) for images and sequences, (B, K·D) for flat tensors; member k owns
  channels (or features) [k·C, (k+1)·C). `flatten(1)` keeps this layout.
- parameters and buffers: dimension 0 is member-major, so `t.unflatten(0, (K, -1))[k]` is member
  k's (reshaped to its unpacked shape, or transposed where the packed leaf lists the parameter in its
  `member_transposed` attribute: PackedLinear's weight); tensors with no dimension 0 (BatchNorm's
  `num_batches_tracked`) are shared, and equal for all members.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archscale.errors import UserError

Packer = Callable[[Sequence[nn.Module]], nn.Module]
"""Build one packed module from the K members' corresponding modules (same type and settings)."""

_PACKERS: dict[type[nn.Module], Packer] = {}


def register_packer(*types: type[nn.Module]) -> Callable[[Packer], Packer]:
    """Decorator registering a packer for leaf modules of exactly these types (subclasses need their own)."""

    def register(packer: Packer) -> Packer:
        for kind in types:
            if kind in _PACKERS:
                raise ValueError(f"module type {kind.__name__} already has a packer")
            _PACKERS[kind] = packer
        return packer

    return register


def members_view(t: Tensor, k: int) -> Tensor:
    """A member-major tensor as a (K, ...) view: row k is member k's share (any memory format)."""
    return t.unflatten(0, (k, t.shape[0] // k))


def _contiguous(grad: Tensor) -> Tensor:
    return grad.contiguous()


class PackedLinear(nn.Module):
    """K Linear layers as one batched matrix product: (B, K·in) -> (B, K·out).

    `weight` is (K, in, out), each member's weight transposed (a batched product with untransposed
    right-hand sides is the fastest on CPU), and `bias` (K, out) (or None): member k's Linear has
    weight `weight[k].T` and bias `bias[k]`.
    """

    member_transposed = frozenset({"weight"})
    """The parameters whose member share is the transpose of the unpacked member's."""

    def __init__(self, members: int, in_features: int, out_features: int, *, bias: bool) -> None:
        super().__init__()
        self.members = members
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(members, out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2:
            raise ValueError(f"a packed Linear takes (B, K*in) inputs, got shape {tuple(x.shape)}")
        batch = x.shape[0]
        per_member = x.view(batch, self.members, self.in_features).transpose(0, 1)  # (K, B, in)
        if self.bias is None:
            out = torch.bmm(per_member, self.weight)
        else:
            out = torch.baddbmm(self.bias.unsqueeze(1), per_member, self.weight)
        if self.members > 1 and out.requires_grad:
            # The gradient comes back contiguous in (K, B, out): each member's bias gradient is then a sum
            # over its own contiguous rows, as in a pack of one (over the strided layout its rounding
            # would depend on the number of companions).
            out.register_hook(_contiguous)
        return out.transpose(0, 1).reshape(batch, self.members * self.out_features)

    def extra_repr(self) -> str:
        return f"{self.members} × Linear {self.in_features}→{self.out_features}, bias={self.bias is not None}"


def _stack(tensors: Sequence[Tensor]) -> Tensor:
    return torch.stack([t.detach() for t in tensors])


def _concat(tensors: Sequence[Tensor]) -> Tensor:
    return torch.cat([t.detach() for t in tensors])


@register_packer(nn.Linear)
def _pack_linear(members: Sequence[nn.Module]) -> nn.Module:
    first = members[0]
    assert isinstance(first, nn.Linear)
    packed = PackedLinear(len(members), first.in_features, first.out_features, bias=first.bias is not None)
    packed.weight = nn.Parameter(_stack([m.weight.T for m in members]))  # the members' own tensors, stacked
    if packed.bias is not None:
        packed.bias = nn.Parameter(_stack([m.bias for m in members]))
    return packed


class _MemberConvolutions:
    """K convolutions as one grouped convolution (groups = K × groups) on CUDA; on the CPU, member by
    member, each exactly as its unpacked convolution: oneDNN picks its grouped algorithm by the number of
    groups, so a member's rounding would otherwise depend on how many companions it has."""

    members: int

    def forward(self, x: Tensor) -> Tensor:
        conv = cast(nn.Conv1d | nn.Conv2d, self)
        if x.device.type != "cpu" or self.members == 1 or conv.padding_mode != "zeros":
            return super().forward(x)  # type: ignore[misc]
        function = F.conv1d if isinstance(conv, nn.Conv1d) else F.conv2d
        groups = conv.groups // self.members
        # chunks, not slices: their backward is one concatenation, not K zero-filled full-size gradients
        inputs, weights = x.chunk(self.members, 1), conv.weight.chunk(self.members, 0)
        biases = [None] * self.members if conv.bias is None else conv.bias.chunk(self.members, 0)
        outputs = [
            function(x_k, w_k, b_k, conv.stride, conv.padding, conv.dilation, groups)  # type: ignore[arg-type]
            for x_k, w_k, b_k in zip(inputs, weights, biases, strict=True)
        ]
        return torch.cat(outputs, 1)


class PackedConv1d(_MemberConvolutions, nn.Conv1d):
    """K Conv1d layers (`_MemberConvolutions`)."""


class PackedConv2d(_MemberConvolutions, nn.Conv2d):
    """K Conv2d layers (`_MemberConvolutions`)."""


_PACKED_CONVOLUTIONS: dict[type[nn.Module], type[PackedConv1d] | type[PackedConv2d]] = {
    nn.Conv1d: PackedConv1d,
    nn.Conv2d: PackedConv2d,
}


@register_packer(nn.Conv1d, nn.Conv2d)
def _pack_conv(members: Sequence[nn.Module]) -> nn.Module:
    first = members[0]
    assert isinstance(first, nn.Conv1d | nn.Conv2d)
    k = len(members)
    packed = _PACKED_CONVOLUTIONS[type(first)](
        k * first.in_channels,
        k * first.out_channels,
        first.kernel_size,  # type: ignore[arg-type]
        stride=first.stride,  # type: ignore[arg-type]
        padding=first.padding,  # type: ignore[arg-type]
        dilation=first.dilation,  # type: ignore[arg-type]
        groups=k * first.groups,
        bias=first.bias is not None,
        padding_mode=first.padding_mode,
        device=first.weight.device,
        dtype=first.weight.dtype,
    )
    packed.members = k
    with torch.no_grad():
        packed.weight.copy_(_concat([m.weight for m in members]))
        if packed.bias is not None:
            packed.bias.copy_(_concat([m.bias for m in members]))
    return packed


@register_packer(nn.BatchNorm1d, nn.BatchNorm2d)
def _pack_batch_norm(members: Sequence[nn.Module]) -> nn.Module:
    first = members[0]
    assert isinstance(first, nn.BatchNorm1d | nn.BatchNorm2d)
    packed = type(first)(
        len(members) * first.num_features,
        eps=first.eps,
        momentum=first.momentum,
        affine=first.affine,
        track_running_stats=first.track_running_stats,
    ).to(next(iter(first.state_dict().values())).device)
    with torch.no_grad():
        for name, tensor in packed.state_dict().items():
            values = [m.state_dict()[name] for m in members]
            tensor.copy_(_concat(values) if tensor.dim() else values[0])
    return packed


_STATELESS: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.LeakyReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
)
"""Modules without state that act element-wise or per channel: their packed form is themselves."""


@register_packer(*_STATELESS)
def _pack_stateless(members: Sequence[nn.Module]) -> nn.Module:
    return copy.deepcopy(members[0])


@register_packer(nn.Flatten)
def _pack_flatten(members: Sequence[nn.Module]) -> nn.Module:
    first = members[0]
    assert isinstance(first, nn.Flatten)
    if first.start_dim != 1 or first.end_dim != -1:
        raise UserError(f"cannot pack {first}: only Flatten(1, -1) keeps the members apart")
    return copy.deepcopy(first)


def _check_same_structure(models: Sequence[nn.Module]) -> None:
    first = models[0]
    shapes = {name: t.shape for name, t in first.state_dict().items()}
    for index, model in enumerate(models[1:], start=1):
        if any(model is earlier for earlier in models[:index]):
            continue  # one model may start several members
        other = {name: t.shape for name, t in model.state_dict().items()}
        if type(model) is not type(first) or repr(model) != repr(first) or other != shapes:
            raise UserError(f"cannot pack these models: member {index} differs in structure from member 0")
        if getattr(model, "arch", None) != getattr(first, "arch", None):
            raise UserError(f"cannot pack these models: member {index} has another architecture than member 0")


def _packed_leaf(name: str, members: Sequence[nn.Module]) -> nn.Module:
    kind = type(members[0])
    packer = _PACKERS.get(kind)
    if packer is None:
        raise UserError(
            f"cannot pack module '{name}' of type {kind.__name__}: no packer is registered for it "
            "(add one with archscale.nn.packed.register_packer)"
        )
    return packer(members)


class PackedModel(nn.Module):
    """K members of one structure as one module: `forward` maps (B, K, *input_shape) to (B, K, classes).

    `net` is the first member's deep copy with packed leaves; it takes and returns member-major
    tensors ((B, K·C, ...) in, (B, K·classes) out). `member_state_dict(k)` / `load_member_state_dict`
    convert between the packed state and member k's unpacked state (the original models' keys);
    `keep` drops members (a pack whose runs stop early computes only the rest).
    """

    def __init__(self, net: nn.Module, members: int, template: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.members = members
        self.__dict__["_template"] = template  # an unpacked member (not a submodule): `keep` copies its structure
        self._member_shapes = {name: t.shape for name, t in template.state_dict().items()}
        self._transposed = {
            f"{prefix}.{name}".lstrip(".")
            for prefix, module in net.named_modules()
            for name in getattr(module, "member_transposed", ())
        }
        self._member_repr = repr(template)

    def __repr__(self) -> str:  # the packed leaves break some members' `extra_repr`; show one member instead
        return f"PackedModel({self.members} members, each:\n  {self._member_repr.replace(chr(10), chr(10) + '  ')}\n)"

    def merge(self, x: Tensor) -> Tensor:
        """(B, K, C, ...) -> (B, K·C, ...): the members' inputs in the packed layout."""
        if x.dim() < 3 or x.shape[1] != self.members:
            raise ValueError(f"expected inputs (B, {self.members}, ...), got shape {tuple(x.shape)}")
        return x.flatten(1, 2)

    def merge_shared(self, x: Tensor) -> Tensor:
        """(B, C, ...) -> (B, K·C, ...): one batch that every member sees (evaluation)."""
        return self.merge(x.unsqueeze(1).expand(x.shape[0], self.members, *x.shape[1:]))

    def split(self, out: Tensor) -> Tensor:
        """(B, K·classes) -> (B, K, classes)."""
        return out.view(out.shape[0], self.members, -1)

    def forward(self, x: Tensor) -> Tensor:
        return self.split(self.net(self.merge(x)))

    def member_state_dict(self, k: int) -> dict[str, Tensor]:
        """Member k's state dict in the unpacked models' keys and shapes (copies, on this model's device)."""
        self._check_member(k)
        return {name: self._member_slice(name, tensor, k).clone() for name, tensor in self.net.state_dict().items()}

    def load_member_state_dict(self, k: int, state: Mapping[str, Tensor]) -> None:
        """Overwrite member k's share with an unpacked model's state dict (the same keys and shapes)."""
        self._check_member(k)
        packed = self.net.state_dict()
        if set(state) != set(packed):
            raise ValueError("the state dict's keys are not those of the packed models")
        with torch.no_grad():
            for name, tensor in packed.items():
                if tensor.dim() == 0:
                    continue  # shared counters (BatchNorm's num_batches_tracked)
                self._member_slice(name, tensor, k).copy_(state[name].view(self._member_shapes[name]))

    def keep(self, members: Sequence[int]) -> None:
        """Keep only the members at these indices, in this order, in place: the packed layers are rebuilt
        from their states (new parameter tensors, on this model's device, in the default memory format)."""
        for k in members:
            self._check_member(k)
        if not members:
            raise ValueError("a pack keeps at least one member")
        template: nn.Module = self.__dict__["_template"]
        device = next(iter(self.net.state_dict().values())).device
        kept = []
        for k in members:
            model = copy.deepcopy(template).to(device)
            model.load_state_dict(self.member_state_dict(k))
            kept.append(model)
        self.net = pack_models(kept).net
        self.members = len(kept)

    def _member_slice(self, name: str, tensor: Tensor, k: int) -> Tensor:
        if tensor.dim() == 0:
            return tensor
        if name in self._transposed:
            return tensor[k].transpose(0, 1)
        return members_view(tensor, self.members)[k].view(self._member_shapes[name])

    def _check_member(self, k: int) -> None:
        if not 0 <= k < self.members:
            raise IndexError(f"member {k} of a pack of {self.members}")


def pack_models(models: Sequence[nn.Module]) -> PackedModel:
    """Pack K ≥ 1 models of identical structure (type, module tree, shapes, architecture) into one.

    The packed weights equal the members' (each keeps its own initialisation; one model may be given
    for several members, which then start from the same weights); the members are left untouched.
    Raise UserError when the models differ in structure or a leaf module has no packer.
    """
    if not models:
        raise ValueError("pack_models needs at least one model")
    _check_same_structure(models)
    if next(models[0].children(), None) is None:  # a single layer
        return PackedModel(_packed_leaf(type(models[0]).__name__, models), len(models), models[0])
    replaced: dict[int, nn.Module] = {}
    for name, template in models[0].named_modules(remove_duplicate=False):
        if not name:
            continue
        if next(template.children(), None) is not None:
            if template._parameters or template._buffers:
                raise UserError(f"cannot pack module '{name}': it holds parameters of its own beside submodules")
            continue
        if id(template) not in replaced:
            replaced[id(template)] = _packed_leaf(name, [model.get_submodule(name) for model in models])
    net = copy.deepcopy(models[0], memo=dict(replaced))  # the first member's tree, its leaves already packed
    if net._parameters or net._buffers:
        raise UserError("cannot pack these models: the root module holds parameters of its own")
    return PackedModel(net, len(models), models[0])

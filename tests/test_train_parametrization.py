"""Which models may pack and which optimizer each trains with (`archscale.train.parametrization`)."""

from archscale.graph import module_origin, parse_architecture
from archscale.nn import build_model
from archscale.nn.traced import build_traced
from archscale.train import TrainConfig
from archscale.train.parametrization import packable, set_lr, sgd, trains_alone


def test_only_standard_runs_pack():
    assert packable({}) and packable({"parametrization": "standard", "width": 8})
    assert not packable({"parametrization": "mup", "mup_base_width": 16})


def test_mup_models_and_users_modules_train_alone_with_their_optimizer():
    arch = parse_architecture("2_02", "mlp")
    standard = build_model(arch, width=16, classes=3, input_shape=(8,))
    mup_model = build_model(arch, width=32, classes=3, input_shape=(8,), parametrization="mup", mup_base_width=16)
    traced = build_traced(
        module_origin("plain_nets:skip_mlp", {"blocks": 1, "width": 8}), classes=10, input_shape=(40,)
    )
    assert not trains_alone(standard) and trains_alone(mup_model) and trains_alone(traced)
    config = TrainConfig(lr=0.1, momentum=0.9)
    plain, musgd = sgd(standard, config, 0.05), sgd(mup_model, config, 0.05)
    assert len(plain.param_groups) == 1 and all("lr_mult" in g for g in musgd.param_groups)  # MuSGD: scaled groups
    set_lr(plain, 0.2)
    set_lr(musgd, 0.2)
    assert [g["lr"] for g in plain.param_groups] == [0.2]
    assert sorted({round(g["lr"] / 0.2, 12) for g in musgd.param_groups}) == [1.0, 2.0]  # width 32 over base 16

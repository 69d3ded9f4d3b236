"""The LR rule against the golden values of paper-spec §4.7 and §8 (items 7-12, 17)."""

import itertools
import statistics

import pytest

from archscale.errors import UserError
from archscale.graph import parse_architecture
from archscale.principles import Convention, digit_string_scale, lr_scale, transfer

OFFICIAL, PAPER = Convention.OFFICIAL, Convention.PAPER


def factor(arch: str, family: str = "mlp", convention: Convention = OFFICIAL, kernel: int = 3) -> float | None:
    return lr_scale(parse_architecture(arch, family, kernel), convention).factor


# §4.7: DAG, S, MLP factor, CNN k=5, CNN k=7
TABLE_4_7 = [
    ("2", 64, 0.649519, 0.389711, 0.278365),
    ("2_02_002", 216, 0.353553, 0.212132, 0.151523),
    ("2_02_002_0002", 343, 0.280566, 0.168340, 0.120243),
    ("2_22_222", 530, 0.225706, 0.135424, 0.096731),
    ("2_22_222_2222", 1430, 0.137409, 0.082445, 0.058889),
    ("2_12_122_1222", 1180, 0.151266, 0.090760, 0.064828),
    ("1_11_111_1112", 364, 0.272352, 0.163411, 0.116722),
    ("2_10_011_0001", 91, 0.544705, 0.326823, 0.233445),
    ("2_20_202_2020", 189, 0.377964, 0.226779, 0.161985),
    ("1_01_001_0001", 27, 1.0, 0.6, 0.428571),
    ("1_11_111_1111", 27, 1.0, 0.6, 0.428571),
    ("0_02_002_0002", 27, 1.0, 0.6, 0.428571),
]


@pytest.mark.parametrize(("arch", "S", "mlp", "k5", "k7"), TABLE_4_7)
def test_official_mlp_and_cnn_table(arch, S, mlp, k5, k7):
    scale = lr_scale(parse_architecture(arch))
    assert scale.stats.S == S
    assert scale.factor == pytest.approx(mlp, abs=5e-7)
    assert factor(arch, "cnn", kernel=3) == pytest.approx(mlp, abs=5e-7)
    assert factor(arch, "cnn", kernel=5) == pytest.approx(k5, abs=5e-7)
    assert factor(arch, "cnn", kernel=7) == pytest.approx(k7, abs=5e-7)


def test_official_ratios_item_8():
    assert factor("2_02") == pytest.approx(0.464758, abs=5e-7)


def test_official_quirks_item_7():
    skip_only = lr_scale(parse_architecture("1_11_111_1111"))
    assert skip_only.stats.paths == 8 and skip_only.stats.S == 27 and skip_only.factor == 1.0
    for arch in ("0_00_000_0000", "0_02_002_0002"):
        scale = lr_scale(parse_architecture(arch))
        assert scale.stats.S == 27 and scale.factor == 1.0
        assert not scale.has_path and scale.lr_factor is None and scale.lr(0.1) is None


NB201 = [
    ("1_01_001", 1, 0.46),
    ("1_11_111", 4, 0.23),
    ("4_44_444", 4, 0.23),
    ("3_03_101", 28, 0.086932),
    ("3_33_133", 119, 0.042168),
    ("3_33_333", 126, 0.040980),
    ("2_22_222", 126, 0.040980),
    ("4_21_211", 18, 0.108423),
    ("3_03_003", 64, 0.0575),
    ("0_33_003", 27, 0.088527),
    ("4_24_440", 2, 0.325269),
    ("2_10_012", 16, 0.115),
]


@pytest.mark.parametrize(("code", "S", "lr"), NB201)
@pytest.mark.parametrize("convention", [OFFICIAL, PAPER])
def test_nb201_item_10(code, S, lr, convention):
    scale = lr_scale(parse_architecture(code, "nb201"), convention)
    assert scale.stats.S == S
    assert scale.lr(0.46) == pytest.approx(lr, abs=5e-7)
    assert scale.kernel_factor == 1.0


@pytest.mark.parametrize("code", ["0_04_002", "3_00_003"])
def test_nb201_without_path_has_no_lr(code):
    scale = lr_scale(parse_architecture(code, "nb201"))
    assert not scale.has_path and scale.stats.S is None and scale.lr(0.46) is None


@pytest.mark.parametrize(
    ("arch", "expected"),
    [("2_02_002_0002", 0.089443), ("2_22_222_2222", 0.049629), ("1_11_111_1111", 0.353553), ("2_10_011_0001", 1 / 3)],
)
def test_paper_convention_item_17(arch, expected):
    assert factor(arch, convention=PAPER) == pytest.approx(expected, abs=5e-7)


def test_paper_convention_has_no_quirk():
    scale = lr_scale(parse_architecture("0_02_002_0002"), PAPER)
    assert scale.stats.S is None and scale.factor is None
    assert factor("2_02_002", "cnn", PAPER, kernel=5) == pytest.approx(4**-1.5 * 3 / 5)


def test_transfer_from_another_base():
    base = parse_architecture("2_02_002")
    scale = lr_scale(parse_architecture("2_02_002_0002"), OFFICIAL, base)
    assert scale.factor == pytest.approx((216 / 343) ** 0.5)
    with pytest.raises(UserError, match="no input→output path"):
        lr_scale(parse_architecture("2"), OFFICIAL, parse_architecture("0_00"))
    with pytest.raises(UserError, match="base is a nb201"):
        lr_scale(parse_architecture("2"), OFFICIAL, parse_architecture("3_33_133"))


def n5_strings():
    for digits in itertools.product("012", repeat=10):
        d = "".join(digits)
        yield "_".join((d[0], d[1:3], d[3:6], d[6:10]))


def test_whole_n5_space_item_11():
    via = transfer(OFFICIAL, parse_architecture("2").family)
    scales = [digit_string_scale(s, via) for s in n5_strings()]
    assert len(scales) == 59049
    assert sum(not s.has_path for s in scales) == 2471
    assert sum(s.has_path and s.stats.moments.s1 == 3 * s.stats.paths for s in scales) == 5377
    factors = [s.factor for s in scales]
    assert sum(f == 1.0 for f in factors) == 7848
    assert min(factors) == pytest.approx(0.1374086, abs=1e-7)
    assert statistics.median(factors) == pytest.approx(0.3779645, abs=1e-7)
    assert statistics.fmean(factors) == pytest.approx(0.4576689, abs=1e-7)


def test_whole_nb201_space_item_12():
    via = transfer(OFFICIAL, parse_architecture("3").family)
    codes = ["_".join((d[0], d[1:3], d[3:6])) for d in map("".join, itertools.product("01234", repeat=6))]
    scales = [digit_string_scale(c, via) for c in codes]
    lrs = [s.lr(0.46) for s in scales if s.has_path]
    assert len(codes) - len(lrs) == 341
    assert min(lrs) == pytest.approx(0.040980, abs=5e-7) and max(lrs) == 0.46
    assert statistics.median(lrs) == pytest.approx(0.108423, abs=5e-7)
    assert statistics.fmean(lrs) == pytest.approx(0.131566, abs=5e-7)
    assert sum(lr == pytest.approx(0.46) for lr in lrs) == 922
    assert sum(lr < 0.1 for lr in lrs) / len(lrs) == pytest.approx(0.5, abs=0.005)


@pytest.mark.parametrize("convention", [OFFICIAL, PAPER])
def test_fast_path_equals_general_path(convention):
    for family, strings in (("mlp", list(n5_strings())[::7]), ("cnn", list(n5_strings())[::97])):
        via = transfer(convention, parse_architecture("2", family).family)
        for text in strings:
            assert digit_string_scale(text, via, 5) == lr_scale(parse_architecture(text, family, 5), convention)


def test_the_blockless_quirk_is_named_where_it_changes_s():
    from archscale.graph import parse_architecture
    from archscale.principles import Convention, hits_blockless_quirk

    skips_only = parse_architecture("1_10_110_0110", "mlp")  # several paths, no parameterised edge
    assert hits_blockless_quirk(skips_only, Convention.OFFICIAL)
    assert not hits_blockless_quirk(skips_only, Convention.PAPER)  # the paper's equations have no quirk
    assert not hits_blockless_quirk(parse_architecture("1", "mlp"), Convention.OFFICIAL)  # one path: S is right
    assert not hits_blockless_quirk(parse_architecture("2_22_222", "mlp"), Convention.OFFICIAL)

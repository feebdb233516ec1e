"""trainer.schedule: WSD values at the key steps of each decay kind, lengths, branching."""

from __future__ import annotations

import math

import pytest

from trainer.schedule import ScheduleConfig, WSDSchedule


def _schedule(decay: str, total: int = 1000, **kw) -> WSDSchedule:
    return WSDSchedule.from_config(ScheduleConfig(warmup_steps=100, decay=decay, **kw), total)


def test_warmup_is_linear_and_stable_is_flat():
    s = _schedule("exponential")
    assert (s.warmup_steps, s.decay_start, s.decay_steps, s.total_steps) == (100, 900, 100, 1000)
    assert s.factor(0) == pytest.approx(0.01) and s.factor(49) == pytest.approx(0.5)
    assert s.factor(99) == 1.0 and s.factor(100) == 1.0 and s.factor(899) == 1.0
    assert [s.phase(i) for i in (0, 99, 100, 899, 900, 999)] == ["warmup"] * 2 + ["stable"] * 2 + ["decay"] * 2


def test_exponential_decay_halves_every_half_life():
    s = _schedule("exponential")  # default half life: 20% of the 100 decay steps
    assert s.half_life_steps == 20
    assert s.factor(900) == 1.0
    assert s.factor(920) == pytest.approx(0.5) and s.factor(940) == pytest.approx(0.25)
    assert s.factor(999) == pytest.approx(0.5 ** (99 / 20))
    minicpm = _schedule("exponential", total=100_000, half_life_steps=5000)  # T_half = 5000 steps
    assert minicpm.factor(90_000 + 5000) == pytest.approx(0.5)


@pytest.mark.parametrize("decay,quarter,half", [
    ("linear", 0.75, 0.5),
    ("cosine", (1 + math.cos(math.pi / 4)) / 2, 0.5),
    ("1-sqrt", 0.5, 1 - math.sqrt(0.5)),
])
def test_other_decay_shapes(decay, quarter, half):
    s = _schedule(decay)
    assert s.factor(900) == 1.0
    assert s.factor(925) == pytest.approx(quarter) and s.factor(950) == pytest.approx(half)
    assert 0 < s.factor(999) < s.factor(998)


def test_floor_and_explicit_decay_length():
    s = _schedule("linear", decay_steps=300, min_lr_ratio=0.1)
    assert s.decay_start == 700 and s.factor(850) == pytest.approx(0.1 + 0.9 * 0.5)
    assert all(s.factor(i) >= 0.1 for i in range(100, 1000))


def test_branches_share_the_stable_phase():
    stable = WSDSchedule(warmup_steps=100, decay_start=800, decay_steps=0)  # a run still in its stable phase
    short = stable.branch(decay_steps=80, decay="exponential")
    long = stable.branch(decay_steps=200, decay="1-sqrt", at=600)
    assert short.total_steps == 880 and long.total_steps == 800
    for branch in (short, long):
        assert branch.agrees_until(stable, 600)
        assert all(branch.factor(i) == stable.factor(i) for i in range(600))
    assert short.agrees_until(long, 600) and not short.agrees_until(long, 700)
    assert not _schedule("linear").agrees_until(_schedule("cosine"), 950)
    with pytest.raises(ValueError, match="stable phase"):
        short.branch(decay_steps=10, at=850)


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="decay must be one of"):
        _schedule("step")
    with pytest.raises(ValueError, match="warmup_steps"):
        WSDSchedule.from_config(ScheduleConfig(warmup_steps=-1), 10)
    quick = WSDSchedule.from_config(ScheduleConfig(warmup_steps=50, decay_fraction=0.2), 10)  # --max-steps 10
    assert (quick.warmup_steps, quick.decay_start, quick.total_steps) == (8, 8, 10)

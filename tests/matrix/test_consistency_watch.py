"""watch(): several probes polled together, bounded once, the lag measured."""

from __future__ import annotations

from parity.checks.consistency import watch


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_lag_is_measured_and_the_bound_is_paid_once() -> None:
    clock = Clock()

    def after(t: float) -> object:
        return lambda: (clock.now >= t, "seen" if clock.now >= t else "not yet")

    seen = watch(
        {"fast": after(0.0), "slow": after(1.0), "never": after(99.0), "late": after(99.0)},
        5.0,
        interval_s=0.5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert seen["fast"].seen and seen["fast"].lag_s == 0.0 and seen["fast"].attempts == 1
    assert seen["slow"].seen and seen["slow"].lag_s == 1.0
    assert not seen["never"].seen and seen["never"].lag_s is None
    assert seen["never"].observed == ["not yet"]
    assert clock.now == 5.0  # one bound for both laggards, not two
    assert seen["never"].describe().startswith("not visible within 5 s")
    assert seen["slow"].describe().startswith("visible after 1.00 s")

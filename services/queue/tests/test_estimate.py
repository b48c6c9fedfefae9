"""The wait estimate resists outliers and says when it does not know."""

from __future__ import annotations

from sihha_queue.domain.estimate import DEFAULT_SERVICE_SECONDS, service_seconds, wait_minutes


def test_one_service_of_a_second_does_not_drag_the_estimate() -> None:
    assert service_seconds([1.0]) == DEFAULT_SERVICE_SECONDS
    assert service_seconds([]) == DEFAULT_SERVICE_SECONDS
    assert wait_minutes(ahead=4, counters=1, recent=[1.0]) == 35


def test_many_real_service_times_outweigh_the_default() -> None:
    recent = [300.0] * 12 + [1.0, 2.0]
    assert service_seconds(recent) == 300.0
    assert wait_minutes(ahead=3, counters=2, recent=recent) == 10


def test_no_active_counter_means_no_estimate() -> None:
    assert wait_minutes(ahead=0, counters=0, recent=[300.0]) is None

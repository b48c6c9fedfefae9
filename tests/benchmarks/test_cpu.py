"""The benchmarks' CPU accounting (`bench/cpu.py`): the split it reads from /proc and the
ceilings it draws from two splits."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

# the benchmarks are run from the repository's root (`python -m bench`), not installed
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.cpu import (
    _group_spent,
    ceilings,
    describe,
    process_seconds,
    with_machine_cpu,
)
from bench.load import LoadResult


def _spin(seconds: float) -> None:
    ended = time.process_time() + seconds
    while time.process_time() < ended:
        pass


def _result(ok: int, refused: int = 0, seconds: float = 1.0) -> LoadResult:
    statuses = Counter({201: ok, 409: refused})
    return LoadResult("closed", seconds, 1, None, [0.001] * ok, statuses)


def test_ceilings_are_the_baselines_wall_time_over_the_named_cpu() -> None:
    # the bare INSERT: 500 µs of the machine busy and 100 idle per request (both cores)
    baseline = {"busy": 500.0, "idle": 100.0}
    # a heavier request: 1,800 µs in the service, 1,000 around it, 700 elsewhere
    measured = {"server": 1800.0, "postgres": 700.0, "rabbitmq": 200.0, "bench": 100.0}
    measured |= {"other": 700.0, "busy": 3500.0, "idle": 0.0}
    spread, free = ceilings(baseline, measured)
    assert spread == pytest.approx(600 / 2800)  # `other` left out: an upper bound
    assert free == pytest.approx(600 / 1000)
    assert ceilings({}, measured) == (None, None)
    assert ceilings(baseline, {"busy": 0.0}) == (None, None)


def test_a_process_that_ended_between_readings_does_not_make_a_group_negative() -> None:
    before = {10: 5.0, 11: 2.0}  # 11 ends in between, 12 starts
    after = {10: 5.5, 12: 0.25}
    assert _group_spent(before, after) == pytest.approx(0.75)


def test_the_machine_split_counts_the_server_and_the_benchmarks_own_cpu() -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.process_time() + 0.4\n"
         "while time.process_time() < end: pass\ntime.sleep(30)"]
    )  # fmt: skip
    try:

        async def load() -> LoadResult:
            _spin(0.2)  # the load generator's own work
            await asyncio.sleep(0.8)  # while the server spins
            return _result(ok=10, refused=90, seconds=1.0)

        result, split = asyncio.run(with_machine_cpu((server.pid,), load(), every_answer=True))
        assert result.machine is split
        # per answer (refusals included): 0.4 s and 0.2 s over 100 answers, within a tick
        assert split["server"] == pytest.approx(4000, abs=1500)
        assert split["bench"] == pytest.approx(2000, abs=1000)
        # the machine's busy time holds both (three clock ticks per answer of rounding)
        tick = 1e6 / os.sysconf("SC_CLK_TCK") / 100
        assert split["busy"] >= split["server"] + split["bench"] - 3 * tick
        assert describe(split).startswith("machine CPU µs/req: server ")
        assert process_seconds(server.pid) >= 0.3
    finally:
        server.kill()
        server.wait()


def test_nothing_counted_gives_no_split() -> None:
    async def load() -> LoadResult:
        return _result(ok=0)

    result, split = asyncio.run(with_machine_cpu((os.getpid(),), load()))
    assert split == {} and result.machine == {}

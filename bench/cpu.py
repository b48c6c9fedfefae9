"""Where a benchmark's CPU went, from Linux's /proc (proc(5)): a server's own, and the whole
machine's split by who spent it.

- `process_seconds(*pids)`: user + system CPU seconds so far of processes and of their
  live descendants (uvicorn's workers, a relay process beside a service).
- `with_cpu(pids, load)`: run a `bench.load.run_load` coroutine; its result and the
  server's CPU per successful request (µs).
- `with_machine_cpu(pids, load)`: the same, and the machine's CPU per successful request
  split into the server, PostgreSQL (every `postgres` process: its backends, WAL writer,
  checkpointer), RabbitMQ (`beam.smp`), the benchmark's own process (the load generator),
  everything else, and the idle time of all cores (µs per request; `/proc/stat`'s
  `user + nice + system + irq + softirq + steal` is busy). Two cores kept busy by a bare
  INSERT leave nothing for a second process: comparing the machine's busy CPU per request
  says how far a change of structure (a relay apart, a second worker) can carry a request
  before the machine, not the service, is the limit.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from bench.load import LoadResult

_CLOCK_TICK = os.sysconf("SC_CLK_TCK")
#: the groups of processes `with_machine_cpu` names, by their `comm` (proc(5))
GROUPS = {"postgres": "postgres", "rabbitmq": "beam.smp"}


def process_seconds(*pids: int) -> float:
    """User + system CPU time so far of processes and of their live descendants (NaN
    where there is none)."""
    if len(pids) != 1:
        return sum(process_seconds(pid) for pid in pids)
    (pid,) = pids
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    total = (int(fields[11]) + int(fields[12])) / _CLOCK_TICK
    for child in _children(pid):
        spent = process_seconds(child)
        if not math.isnan(spent):
            total += spent
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def per_item_us(cpu_seconds: float, count: float) -> float | None:
    """µs of CPU per item; None without a count or a CPU figure."""
    if count <= 0 or math.isnan(cpu_seconds):
        return None
    return cpu_seconds / count * 1e6


def _machine() -> tuple[float, float]:
    """(busy, idle) seconds of all cores since boot (`/proc/stat`'s first line)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy / _CLOCK_TICK, (idle + iowait) / _CLOCK_TICK


def _group_seconds(comm: str) -> dict[int, float]:
    """CPU seconds so far of every live process whose `comm` is `comm`, by pid."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            name, rest = stat[stat.index("(") + 1 :].rsplit(")", 1)
            if name == comm:
                fields = rest.split()
                found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICK
    return found


def _group_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds a group spent between two snapshots: the processes alive at the second
    (those started in between from zero). One that ended in between took its CPU with it:
    that CPU counts in ``other`` (the machine's busy time has it)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _snapshot(pids: tuple[int, ...]) -> dict[str, Any]:
    busy, idle = _machine()
    return {
        "busy": busy,
        "idle": idle,
        "server": process_seconds(*pids),
        "bench": time.process_time(),
        **{group: _group_seconds(comm) for group, comm in GROUPS.items()},
    }


async def with_cpu(
    pids: tuple[int, ...], load: Awaitable[LoadResult]
) -> tuple[LoadResult, float | None]:
    """Run a `run_load` coroutine; also the server's CPU per successful request (µs), over
    the whole call (its warm-up second included, so requests are counted over it too), of
    every process in `pids` (the service's, and its relay's when it runs apart)."""
    result, split = await with_machine_cpu(pids, load)
    return result, split.get("server")


async def with_machine_cpu(
    pids: tuple[int, ...], load: Awaitable[LoadResult], *, every_answer: bool = False
) -> tuple[LoadResult, dict[str, float | None]]:
    """`with_cpu`, with the machine's CPU per successful request beside the server's (µs):
    ``server``, ``postgres``, ``rabbitmq``, ``bench`` (the load generator), ``other`` (the
    busy rest), ``busy`` (all of it) and ``idle``; also kept in the result's `machine`.
    Empty if no request succeeded."""
    before, started = _snapshot(pids), time.perf_counter()
    result = await load
    after, elapsed = _snapshot(pids), time.perf_counter() - started
    if every_answer:
        count = float(sum(result.statuses.values()))
    elif result.ok:
        # the warm-up's requests are not in the result: scale by the measured share of time
        count = result.ok * elapsed / result.seconds
    else:
        count = 0.0
    if count <= 0:
        return result, {}
    spent = {
        name: _group_spent(before[name], after[name])
        if name in GROUPS
        else after[name] - before[name]
        for name in before
    }
    named = ("server", "postgres", "rabbitmq", "bench")
    spent["other"] = spent["busy"] - sum(spent[name] for name in named)
    result.machine = {name: per_item_us(seconds, count) for name, seconds in spent.items()}
    return result, result.machine


def describe(split: dict[str, float | None]) -> str:
    """One line of a machine split (µs per request)."""
    if not split:
        return "machine CPU: -"
    names = ("server", "postgres", "rabbitmq", "bench", "other")
    shown = ", ".join(f"{name} {split.get(name) or 0:.0f}" for name in names)
    return (
        f"machine CPU µs/req: {shown} (bench = the load generator); "
        f"busy {split.get('busy') or 0:.0f}, idle {split.get('idle') or 0:.0f}"
    )


def ceilings(
    baseline: dict[str, float | None], measured: dict[str, float | None]
) -> tuple[float | None, float | None]:
    """Upper bounds on the share of the baseline's rate a measured request can reach on
    this machine, from the two splits: (1) with its CPU as measured but spread over every
    core, which no added process (a second worker, a relay apart) can pass, since each
    request still costs that CPU; (2) were the server's own CPU nothing. Each is the
    baseline's wall time per request on all cores (busy + idle) over the measured
    request's CPU in the named processes (the server, PostgreSQL, RabbitMQ, the load
    generator): ``other`` (the kernel's network work, and whatever else ran) is left out,
    so both stay upper bounds when something else shares the machine."""
    if not baseline or not measured:
        return None, None
    per_request = (baseline.get("busy") or 0.0) + (baseline.get("idle") or 0.0)
    around = sum(measured.get(name) or 0.0 for name in ("postgres", "rabbitmq", "bench"))
    whole = around + (measured.get("server") or 0.0)
    spread = per_request / whole if whole > 0 else None
    free = per_request / around if around > 0 else None
    return spread, free

"""The fault matrix (`python -m bench faults`, bench/faults.py), one round of its fast
faults, as CI runs it: a platform of its own under the demo's traffic, each fault
injected and lifted, and every row measured from the services' own counts — nothing
lost, nothing counted twice or missing, no healthy event dead-lettered, every poison
message dead-lettered where it arrived, and the platform recovered.

The slow faults (the broker stopped and started, the reporting service down for a
simulated hour) run with `make faults` (bench/README.md has the last table).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.fault]

ROOT = Path(__file__).resolve().parents[2]
INFRA_LOCK = "/tmp/sihha-infra.lock"
FAST = [
    "none",
    "broker-connections",
    "consumer-kill",
    "producer-kill",
    "postgres-restart",
    "poison",
]


def _inherited_infra_lock() -> tuple[int, ...]:
    """The descriptor of the infrastructure lock this test was started under (`flock
    /tmp/sihha-infra.lock pytest …`), passed on to the matrix so that it knows it holds
    the lock (a new descriptor would wait for this one forever)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == INFRA_LOCK:
                found.append(int(name))
        except OSError:
            continue
    return tuple(found[:1])


def test_one_round_of_the_fast_faults_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path,
) -> None:
    output = tmp_path / "faults.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "faults",
            "--fast",
            "--rounds",
            "1",
            "--warmup-seconds",
            "3",
            "--tail-seconds",
            "3",
            "--settle-seconds",
            # a budget, not a wait: each segment ends as soon as everything has arrived
            "120",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        pass_fds=_inherited_infra_lock(),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log = completed.stdout[-4000:] + completed.stderr[-4000:]
    assert output.is_file(), log
    rows = json.loads(output.read_text())["rows"]
    assert [row["fault"] for row in rows] == FAST, log
    for row in rows:
        # the whole row and the matrix's own log when a segment fails (pytest would cut a
        # dict's repr to its first keys)
        why = json.dumps(row, indent=1) + "\n" + log
        # real traffic went through every segment, and all of it arrived, once
        assert row["sent"] > 0, why
        assert row["received"] == row["sent"], why
        assert row["lost"] == 0 and row["unpublished"] == 0, why
        assert row["conflicts"] == 0, why
        assert row["duplicated_effects"] == 0 and row["missing_effects"] == 0, why
        assert row["dead_healthy"] == 0, why
        assert row["recovered_seconds"] is not None, why
        assert row["error"] is None, why
        assert row["ok"], why
    by_fault = {row["fault"]: row for row in rows}
    poison = by_fault["poison"]
    assert poison["poison_expected"] > 0
    assert poison["dead_poison"] == poison["poison_expected"], poison
    assert poison["unknown_archived"] == poison["unknown_expected"] == 1, poison
    # the faults happened: connections cut by the broker, the producer killed with a
    # claimed batch in flight (or said otherwise), the database restarted
    assert "connections of the platform closed" in by_fault["broker-connections"]["detail"]
    assert "killed with the relay's batch open" in by_fault["producer-kill"]["detail"], by_fault[
        "producer-kill"
    ]
    assert "immediate" in by_fault["postgres-restart"]["detail"] or (
        "terminated" in by_fault["postgres-restart"]["detail"]
    )
    assert completed.returncode == 0, log
    assert "Fault matrix" in completed.stdout

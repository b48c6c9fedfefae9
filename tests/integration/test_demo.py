"""The README's main job, at a small size: `make demo` runs the simulated day end to end
(with a broker outage) and what it prints agrees with the services' own counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.fault]

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_day_adds_up() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sihha_runner.demo",
            "--patients",
            "150",
            "--speed",
            "1200",
            "--outage-seconds",
            "3",
            "--startup-seconds",
            "12",
            "--exit",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out = completed.stdout
    assert completed.returncode == 0, out[-3000:] + completed.stderr[-3000:]
    assert "broker stopped" in out and "broker back" in out
    # reporting = the queue service's own counts, per establishment and metric
    assert re.search(r"Rapprochement .*: 0 écart", out), out[-2000:]
    # the report's ticket total = what the kiosks were given
    issued = int(re.search(r"Simulation: (\d+) tickets issued", out).group(1))  # type: ignore[union-attr]
    reported = int(re.search(r"Activité / النشاط:\s+tickets (\d+)", out).group(1))  # type: ignore[union-attr]
    routed = int(re.search(r"(\d+) routed,", out).group(1))  # type: ignore[union-attr]
    checked_in = int(re.search(r"arrivées à la borne (\d+)", out).group(1))  # type: ignore[union-attr]
    # routed patients get a ticket at the next service too; booked patients one at check-in
    assert reported == issued + routed + checked_in
    assert "en fonctionnement 32" in out
    for name in (
        "wilaya-daily.fr.pdf",
        "wilaya-daily.ar.pdf",
        "wilaya-daily.xlsx",
        "ministry-monthly.dhis2.json",
    ):
        assert (ROOT / "out" / "demo" / name).is_file(), name

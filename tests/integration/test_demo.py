"""The README's main job, at a small size: `make demo` runs the simulated day end to end
(with a broker outage), what it prints agrees with the services' own counts, its totals
say what they are made of, and its traffic falls within the ranges the traffic model
states (runner/README.md).

The demo runs on its own ports, databases and broker names, so that this test never
collides with a `make demo` left running (as the README invites) or with another test.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sihha_runner.demo import DemoPlace, demo_config, reset
from sihha_runner.report_view import CALIBRATION_LABELS
from sihha_runner.traffic import CALIBRATION

pytestmark = [pytest.mark.integration, pytest.mark.fault]

ROOT = Path(__file__).resolve().parents[2]
#: the two busiest polyclinics (about 500 patients) at ×480: the day in about a minute
CLINICS = 2
SPEED = 480


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the printout:\n{text[-3000:]}"
    return int(found.group(1))


def test_the_demo_day_adds_up_and_is_plausible(tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    place = DemoPlace(
        out=tmp_path / "out",
        database_prefix=f"sihha_demotest_{run}_",
        namespace=f"demotest.{run}.",
    )
    command = [
        sys.executable,
        "-m",
        "sihha_runner.demo",
        f"--clinics={CLINICS}",
        f"--speed={SPEED}",
        "--outage-seconds=3",
        "--startup-seconds=40",
        "--ports=auto",
        f"--database-prefix={place.database_prefix}",
        f"--namespace={place.namespace}",
        f"--out={place.out}",
        "--exit",
    ]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        asyncio.run(reset(demo_config(SPEED, time.time(), place)))
    out = completed.stdout
    assert completed.returncode == 0, out[-3000:] + completed.stderr[-3000:]
    print(f"the demo took {time.monotonic() - started:.0f} s")
    assert "broker stopped" in out and "broker back" in out
    # reporting = the queue service's own counts, per establishment and metric
    assert re.search(r"Rapprochement .*: 0 écart", out), out[-2000:]
    assert f"en fonctionnement {CLINICS} " in out

    # the report's ticket total, and what it is made of
    reported = number(r"Activité / النشاط:\s+tickets (\d+)", out)
    first = number(r"tickets = (\d+) premiers tickets", out)
    routed = number(r"\+ (\d+) orientés", out)
    checked_in = number(r"\+ (\d+) rendez-vous enregistrés", out)
    assert reported == first + routed + checked_in
    # … each part as the simulation and the appointments day counted it
    assert first == number(r"Simulation: (\d+) tickets issued", out)
    assert routed == number(r"(\d+) routed,", out)
    assert checked_in == number(r"arrivées à la borne (\d+)", out)
    assert routed > 0 and checked_in > 0
    # absents: the first absence requeues the ticket once, the second closes it
    absents = number(r"absents (\d+)\s+orientés", out)
    requeued = number(r"absents = (\d+) absents à l'appel remis", out)
    closed = number(r"\+ (\d+) absents au second appel", out)
    assert absents == requeued + closed > 0

    # the traffic falls within the ranges the model states
    for name, (low, high) in CALIBRATION.items():
        label = re.escape(CALIBRATION_LABELS[name])
        found = re.search(rf"{label}\s+(\S+)\s+attendu (\S+)–(\S+) ", out)
        assert found, f"{name} not printed:\n{out[-3000:]}"
        value = float(found.group(1))
        assert (float(found.group(2)), float(found.group(3))) == (low, high)
        assert low <= value <= high, f"{name} = {value}, outside {low}–{high}"

    for name in (
        "wilaya-daily.fr.pdf",
        "wilaya-daily.ar.pdf",
        "wilaya-daily.xlsx",
        "ministry-monthly.dhis2.json",
    ):
        assert (place.out / name).is_file(), name

"""The README's main job, at a small size: `make demo` runs the simulated day end to end
(with a broker outage), what it prints agrees with the services' own counts, its totals
say what they are made of, its traffic falls within the ranges the traffic model states
(runner/README.md), and every link and command it prints works as pasted while its
services keep running: pages answer, the board link enrols a real browser (Debian's
Chromium) as the clinic's board, the `curl` commands fetch the reports.

The demo runs on its own ports, databases and broker names, so that this test never
collides with a `make demo` left running (as the README invites) or with another test.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import sync_playwright

from sihha_runner.demo import DemoPlace, demo_config, reset
from sihha_runner.report_view import CALIBRATION_LABELS
from sihha_runner.traffic import CALIBRATION

pytestmark = [pytest.mark.integration, pytest.mark.fault]

ROOT = Path(__file__).resolve().parents[2]
#: the busiest polyclinic (about 320 patients) at ×300: the day in under two minutes
CLINICS = 1
SPEED = 300
#: what the demo prints once its day is over and its services keep running
RUNNING = "Services keep running"
CHROMIUM = os.environ.get("SIHHA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]


class Demo:
    """The demo in a subprocess, its output collected as it comes."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.running = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith(RUNNING):
                self.running.set()
        self.running.set()  # ended: nothing more will come

    @property
    def out(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C, as the demo says
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def printed_links(out: str) -> list[tuple[str, str, str]]:
    """(label, URL or command, note) of each link the demo printed."""
    section = out.split("Live pages and the API", 1)[1].split("\nDone in", 1)[0]
    links: list[tuple[str, str, str]] = []
    for line in section.splitlines()[1:]:
        if line.startswith("    (") and links:
            links[-1] = (links[-1][0], links[-1][1], line.strip()[1:-1])
        elif line.startswith("    ") and links:
            links[-1] = (links[-1][0], line.strip(), "")
        elif line.startswith("  "):
            links.append((line.strip().rstrip(":"), "", ""))
    return links


def check_links(out: str, tmp_path: Path) -> None:
    links = printed_links(out)
    assert len(links) >= 6, out[-3000:]
    enrolled = set()
    for label, target, note in links:
        if target.startswith("curl "):
            answer = subprocess.run(
                ["bash", "-c", target], cwd=ROOT, capture_output=True, timeout=120
            )
            assert answer.returncode == 0, f"{label}: {target}: {answer.stderr[-500:]!r}"
            written = Path(re.search(r"-o (\S+)", target).group(1))  # type: ignore[union-attr]
            assert written.stat().st_size > 0, label
            if ".pdf" in written.name:
                assert written.read_bytes().startswith(b"%PDF"), label
            continue
        assert target.startswith("http://"), f"{label}: {target!r}"
        page = httpx.get(target.split("#", 1)[0], timeout=30)
        assert page.status_code == 200, f"{label}: {target} → {page.status_code}"
        assert "text/html" in page.headers["content-type"], label
        if "token of " in note:  # the token file the page asks for is one it accepts
            path = re.search(r"token of (\S+)", note).group(1)  # type: ignore[union-attr]
            status = httpx.get(
                target.rstrip("/") + "/status",
                headers={"Authorization": f"Bearer {Path(path).read_text().strip()}"},
                timeout=30,
            )
            assert status.status_code == 200, f"{label}: {status.text[:300]}"
        if "#" in target:
            check_enrolment_link(label, target, tmp_path)
            enrolled.add(urlsplit(target).path)
    assert enrolled == set(LIVE), f"enrolment links printed for {enrolled}, not {set(LIVE)}"


#: what shows that an enrolled page is live, by its path: the board's feed, the
#: scheduler's day (its slots listed)
LIVE = {"/terminals/board": "body[data-feed=live]", "/scheduler": "#day-rows tr"}


def check_enrolment_link(label: str, link: str, tmp_path: Path) -> None:
    """The link, pasted in a fresh browser, opens the page enrolled, for the clinic its
    label names, and live."""
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    path = urlsplit(link).path
    clinic = re.search(r"31-PC-\d{3}", label).group(0)  # type: ignore[union-attr]
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(link)
            page.wait_for_selector(LIVE[path], timeout=30_000)
            assert page.locator("#not-enrolled").is_hidden(), label
            assert clinic in page.locator("#terminal-id").inner_text(), label
            assert "#" not in page.url, "the enrolment fragment stays in the address bar"
            page.screenshot(path=str(tmp_path / f"{path.strip('/').replace('/', '-')}.png"))
        finally:
            browser.close()
    assert problems == [], f"{label}: {problems}"


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the printout:\n{text[-3000:]}"
    return int(found.group(1))


def test_the_demo_day_adds_up_is_plausible_and_its_links_work(tmp_path: Path) -> None:
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
    ]
    started = time.monotonic()
    demo = Demo(command)
    try:
        assert demo.running.wait(timeout=900), demo.out[-3000:]
        assert demo.process.poll() is None, demo.out[-3000:]
        print(f"the demo's day took {time.monotonic() - started:.0f} s")
        # while its services keep running, every link and command it printed works
        check_links(demo.out, tmp_path)
    finally:
        status = demo.stop()
        print(demo.out)  # the printout, for whoever reads the test's log
        asyncio.run(reset(demo_config(SPEED, time.time(), place)))
    out = demo.out
    assert status == 0, out[-3000:]
    assert "broker stopped" in out and "broker back" in out
    # reporting = the queue service's own counts, per establishment and metric
    assert re.search(r"Rapprochement .*: 0 écart", out), out[-2000:]
    # operating: the polyclinics played, and the pilots where booked patients checked in
    table = out.split("Activité par établissement", 1)[1].split("attente :", 1)[0]
    active = re.findall(r"^\s+(31-PC-\d{3}) ", table, flags=re.M)
    assert len(active) >= CLINICS
    assert number(r"en fonctionnement (\d+) ", out) == len(active)

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
    # citizens booked the days before the demo day, and on the day
    booked = number(r"rendez-vous pris (\d+) \(dont", out)
    assert 0 < number(r"\(dont (\d+) les jours précédents\)", out) < booked
    # absents: the first absence requeues the ticket once (not an absent yet), the
    # second closes it (an absent)
    absents = number(r"absents (\d+)\s+orientés", out)
    closed = number(r"absents = (\d+) absents au second appel", out)
    requeued = number(r"les (\d+) absents au premier appel", out)
    assert absents == closed > 0
    assert requeued >= closed

    # the traffic falls within the ranges the model states (on a machine that keeps up
    # with the simulated clock: the printout says when it did not)
    slow = re.search(r"(\d+) of (\d+) requests slower than a simulated minute", out)
    assert slow, out[-3000:]
    machine = f"{slow.group(1)} of {slow.group(2)} requests slower than a simulated minute"
    for name, (low, high) in CALIBRATION.items():
        label = re.escape(CALIBRATION_LABELS[name])
        found = re.search(rf"{label}\s+(\S+)\s+(\S+)–(\S+)\s", out)
        assert found, f"{name} not printed:\n{out[-3000:]}"
        assert found.group(1) != "—", f"{name} was not measured"
        value = float(found.group(1))
        assert (float(found.group(2)), float(found.group(3))) == (low, high)
        assert low <= value <= high, f"{name} = {value}, outside {low}–{high} ({machine})"

    for name in (
        "wilaya-daily.fr.pdf",
        "wilaya-daily.ar.pdf",
        "wilaya-daily.xlsx",
        "ministry-monthly.dhis2.json",
    ):
        assert (place.out / name).is_file(), name

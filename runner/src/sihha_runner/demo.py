"""`make demo`: a day of Oran's health network, running on the platform.

1. starts every service on fresh demo databases (`sihha_demo_*`) and its own
   broker namespace (`demo.`), all on one simulated clock: 15 December 2026
   from 07:50, running `--speed` times faster than real time;
2. records the inspection campaign (6–20 November: 31 polyclinics equipped);
3. plays the working day through the services' public APIs, as the clinic
   terminals would: patients arrive with a morning peak, counters call, serve,
   route to the laboratory, radiology or pharmacy, some patients never show;
   32 polyclinics operate, the others are equipped or not yet;
4. cuts the broker in the middle of the day (`rabbitmqctl stop_app`, then
   `start_app`): the clinics keep working and the backlog drains afterwards;
5. prints the wilaya's daily report and the reconciliation (report = sources,
   zero differences), writes the report files, and gives the live pages' URLs.

Deterministic for a given seed (the patients, their services, priorities and
routes); timings follow the machine. `--exit` stops the platform at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx

from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS, simulated_clock
from sihha_kit.db import drop_database
from sihha_kit.devtools import TokenIssuer
from sihha_kit.registry import load_registry
from sihha_runner.appointments_day import AppointmentsDay
from sihha_runner.launcher import SERVICES, Platform, PlatformConfig, platform, running_services
from sihha_runner.progress import Progress
from sihha_runner.simulator import Day
from sihha_runner.traffic import clinic_weights, patients

DEMO_DAY = date(2026, 12, 15)
NAMESPACE = "demo."
OUT = Path("out/demo")
STARTUP_SECONDS = 25.0
SMS_SINK = OUT / "sms.jsonl"


def demo_config(speed: float, anchor: float) -> PlatformConfig:
    start = datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 7, 50, tzinfo=ALGIERS)
    extra: dict[str, str] = {}
    for spec in running_services():
        extra.update(
            {
                f"{spec.prefix}CLOCK_START": start.isoformat(),
                f"{spec.prefix}CLOCK_SPEED": str(speed),
                f"{spec.prefix}CLOCK_ANCHOR": str(anchor),
                f"{spec.prefix}OUTBOX_POLL_SECONDS": "0.5",
            }
        )
    # the appointments service's text messages go to a file the demo prints from
    extra["APPOINTMENTS_SMS_SINK_PATH"] = str(SMS_SINK.resolve())
    # every simulated citizen books from this one machine: the per-address limits are
    # for the Internet, not for the demo
    extra["APPOINTMENTS_SEARCHES_PER_MINUTE"] = "100000"
    extra["APPOINTMENTS_HOLDS_PER_HOUR"] = "100000"
    extra["APPOINTMENTS_SIGN_INS_PER_HOUR"] = "100000"
    # the ministry's DHIS2 payload needs a mapping: the example one shipped with the service
    extra["REPORTING_DHIS2_MAPPING_PATH"] = str(
        Path("services/reporting/dhis2-mapping.example.yaml").resolve()
    )
    return PlatformConfig(
        database_prefix="sihha_demo_", broker_namespace=NAMESPACE, extra_env=extra
    )


async def reset(config: PlatformConfig) -> None:
    """A demo starts from nothing: its databases and its broker queues are dropped."""
    SMS_SINK.unlink(missing_ok=True)
    for spec in SERVICES:
        with contextlib.suppress(Exception):
            await drop_database(config.database_url(spec.name))
    connection = await aio_pika.connect(config.amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        for spec in SERVICES:
            for suffix in ("inbox", "dead"):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(f"{NAMESPACE}{spec.name}.{suffix}")
                    channel = await connection.channel()


def plan_rollout(seed: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Which polyclinics operate today, and what the November inspection found.

    36 polyclinics: 32 operate; the inspection counted 31 equipped — 30 that
    operate, and one equipped but silent; two that operate were not yet
    equipped when inspected (inspection and telemetry disagree there); three
    are neither.
    """
    registry = load_registry()
    codes = [p.code for p in registry.polyclinics]
    operating = codes[:32]
    silent = codes[32]
    late = operating[-2:]
    inspections = []
    for n, code in enumerate(codes):
        equipped = code in operating[:-2] or code == silent
        inspections.append(
            {
                "facility_id": code,
                "visited_on": (date(2026, 11, 6) + timedelta(days=n % 15)).isoformat(),
                "inspector": f"Inspecteur {1 + n % 4}",
                "equipped": equipped,
                # equipped and staff trained; the system enters service in December
                "system_in_use": False,
                "remarks": "Installation prévue en décembre" if code in late else None,
            }
        )
    return operating, inspections


def broker_outage(real_seconds: float, progress: Progress) -> None:
    if shutil.which("rabbitmqctl") is None:
        progress.note("rabbitmqctl not found here: the broker outage is skipped")
        return
    progress.note(
        f"broker stopped for {real_seconds:.0f} s (rabbitmqctl stop_app) — clinics keep working"
    )
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    try:
        time.sleep(real_seconds)
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
        subprocess.run(
            ["rabbitmqctl", "await_startup"], check=False, capture_output=True, timeout=120
        )
        progress.note("broker back (rabbitmqctl start_app): the outboxes drain")


async def run_day(
    running: Platform,
    issuer: TokenIssuer,
    args: argparse.Namespace,
    anchor: float,
    progress: Progress,
) -> dict[str, Any]:
    clock = simulated_clock(
        datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 7, 50, tzinfo=ALGIERS),
        args.speed,
        anchor,
    )
    operating, inspections = plan_rollout(args.seed)
    group = issuer.mint("wilaya-group:demo", [Role.wilaya_group], ["*"])
    headers = {"Authorization": f"Bearer {group}"}
    async with httpx.AsyncClient(base_url=running.url("reporting"), timeout=30) as reporting:
        for inspection in inspections:
            response = await reporting.post("/inspections", json=inspection, headers=headers)
            response.raise_for_status()
    progress.note(
        f"inspection campaign recorded: {sum(i['equipped'] for i in inspections)} polyclinics equipped"
    )

    registry = load_registry()
    services = [s.code for s in registry.polyclinic_services if s.code != "SPEC"]
    day_patients = patients(
        args.seed, args.patients, operating, clinic_weights(args.seed, operating)
    )
    day = Day(
        queue_url=running.url("queue"),
        issuer=issuer,
        clock=clock,
        speed=args.speed,
        day=datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, tzinfo=ALGIERS),
        clinics=operating,
        services=services,
        patients=day_patients,
        seed=args.seed,
        on_progress=progress.update,
    )

    async def outage() -> None:
        await day.until(
            datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 11, 30, tzinfo=ALGIERS)
        )
        await asyncio.to_thread(broker_outage, args.outage_seconds, progress)

    appointments = AppointmentsDay(
        appointments_url=running.url("appointments"),
        queue_url=running.url("queue"),
        issuer=issuer,
        clock=clock,
        speed=args.speed,
        day=DEMO_DAY,
        seed=args.seed,
        sms_sink=SMS_SINK,
    )
    appointment_stats: dict[str, Any] = {}

    async def appointments_day() -> None:
        appointment_stats["stats"] = await appointments.run()

    extra = [appointments_day()]
    if args.outage_seconds > 0:
        extra.append(outage())
    stats = await day.run(extra)
    if day.prescriptions is not None:
        rx = day.prescriptions.stats
        progress.note(
            f"prescriptions: {rx.issued} signed ({rx.with_override} with a warning overridden), "
            f"{rx.dispensed_full} dispensed in full, {rx.dispensed_partial} in part"
        )
    return {
        "stats": stats,
        "appointments": appointment_stats.get("stats"),
        "operating": operating,
        "inspections": inspections,
        "group": group,
    }


async def wait_for_reporting(
    running: Platform,
    group: str,
    progress: Progress,
    timeout: float = 90,
    *,
    source: str = "queue",
) -> dict[str, Any]:
    """Until the reporting service's counts equal the source service's own (or time runs
    out): the queue's, or with `source="appointments"` the appointments service's."""
    headers = {"Authorization": f"Bearer {group}"}
    params = {"from": DEMO_DAY.isoformat(), "to": DEMO_DAY.isoformat(), "source": source}
    deadline = time.monotonic() + timeout
    result: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=running.url("reporting"), timeout=30) as reporting:
        while time.monotonic() < deadline:
            response = await reporting.get("/reconciliation", params=params, headers=headers)
            if response.status_code == 200:
                result = response.json()
                if not result.get("differences"):
                    break
            await asyncio.sleep(1)
    progress.note(
        f"reporting caught up with the {source} service"
        if result and not result.get("differences")
        else f"reporting did not catch up with the {source} service in time"
    )
    return result


def print_appointments(stats: Any, reconciliation: dict[str, Any]) -> None:
    """The appointments day: what happened, the reconciliation, and the text messages the
    local SMS sink received (what a gateway would have sent)."""
    counts = stats.counts if stats is not None else {}
    print("\nRendez-vous de spécialistes / مواعيد الأخصائيين (31-PC-001, 31-PC-002):")
    print(
        "  plannings {s}  rendez-vous pris {b}  annulés {c}  arrivées à la borne {a}  "
        "absents attendus {n}  liste d'attente : proposée {o}, acceptée {w}".format(
            s=counts.get("schedules_published", 0),
            b=counts.get("booked", 0) + counts.get("waitlist_accepted", 0),
            c=counts.get("cancelled", 0),
            a=counts.get("checked_in", 0),
            n=counts.get("stayed_away", 0),
            o=counts.get("waitlist_offered", 0),
            w=counts.get("waitlist_accepted", 0),
        )
    )
    if stats is not None and stats.errors:
        print(f"  refusals / الرفض: {dict(stats.errors)}")
    if reconciliation:
        print(
            "  rapprochement / المطابقة (report = appointments service): "
            f"{reconciliation.get('compared', 0)} figures compared, "
            f"{len(reconciliation.get('differences', []))} differences"
        )
    messages = (
        [json.loads(line) for line in SMS_SINK.read_text(encoding="utf-8").splitlines() if line]
        if SMS_SINK.is_file()
        else []
    )
    print(f"  SMS (local sink {SMS_SINK}): {len(messages)}")
    for message in [m for m in messages if not re.search(r"\b\d{6}\b", m["text"])][:4]:
        print(f"    {message['to']}: {message['text']}")


async def write_files(running: Platform, group: str) -> list[tuple[str, bytes]]:
    headers = {"Authorization": f"Bearer {group}"}
    written = []
    wanted = [
        (f"/reports/wilaya/daily/{DEMO_DAY}", {"format": "json"}, "wilaya-daily.json"),
        (
            f"/reports/wilaya/daily/{DEMO_DAY}",
            {"format": "pdf", "lang": "fr"},
            "wilaya-daily.fr.pdf",
        ),
        (
            f"/reports/wilaya/daily/{DEMO_DAY}",
            {"format": "pdf", "lang": "ar"},
            "wilaya-daily.ar.pdf",
        ),
        (f"/reports/wilaya/daily/{DEMO_DAY}", {"format": "xlsx"}, "wilaya-daily.xlsx"),
        (f"/reports/wilaya/daily/{DEMO_DAY}", {"format": "csv"}, "wilaya-daily.csv"),
        (
            f"/reports/ministry/monthly/{DEMO_DAY:%Y-%m}",
            {"format": "json"},
            "ministry-monthly.json",
        ),
        (
            f"/reports/ministry/monthly/{DEMO_DAY:%Y-%m}",
            {"format": "dhis2"},
            "ministry-monthly.dhis2.json",
        ),
    ]
    async with httpx.AsyncClient(base_url=running.url("reporting"), timeout=120) as reporting:
        for path, params, name in wanted:
            response = await reporting.get(path, params=params, headers=headers)
            if response.status_code != 200:
                print(f"  {name}: {response.status_code} {response.text[:200]}", file=sys.stderr)
                continue
            written.append((name, response.content))
    return written


def print_report(report: dict[str, Any], reconciliation: dict[str, Any], stats: Any) -> None:
    from sihha_runner.report_view import render_daily

    print(render_daily(report, reconciliation, stats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sihha-demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--patients", type=int, default=2000, help="patients in the day (default 2000)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=120.0,
        help="simulated seconds per real second (default 120: the day in ~4.5 min; faster "
        "than ~200 on a 2-core machine, the counters' requests lag behind the simulated "
        "clock and service times and waits stretch)",
    )
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument(
        "--outage-seconds",
        type=float,
        default=8.0,
        help="real seconds the broker stays stopped at 11:30 (0: no outage)",
    )
    parser.add_argument(
        "--startup-seconds",
        type=float,
        default=STARTUP_SECONDS,
        help="real seconds allowed for the services to start before the day begins",
    )
    parser.add_argument("--exit", action="store_true", help="stop the platform at the end")
    args = parser.parse_args(argv)

    # the simulated day starts (07:50) once the services have had time to start
    anchor = time.time() + args.startup_seconds
    config = demo_config(args.speed, anchor)
    asyncio.run(reset(config))
    progress = Progress()
    started = time.monotonic()
    with platform(config, log_dir=OUT / "logs") as running:
        progress.note(
            f"platform up in {time.monotonic() - started:.0f} s; the day starts at "
            f"{STARTUP_SECONDS:.0f} s"
        )
        issuer = TokenIssuer.from_directory(config.keys_dir)
        outcome = asyncio.run(run_day(running, issuer, args, anchor, progress))
        reconciliation = asyncio.run(wait_for_reporting(running, outcome["group"], progress))
        appointments_reconciliation = asyncio.run(
            wait_for_reporting(running, outcome["group"], progress, source="appointments")
        )
        OUT.mkdir(parents=True, exist_ok=True)
        files = []
        for name, content in asyncio.run(write_files(running, outcome["group"])):
            (OUT / name).write_bytes(content)
            files.append(OUT / name)
        progress.close()
        report_file = OUT / "wilaya-daily.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else {}
        print_report(report, reconciliation, outcome["stats"])
        print_appointments(outcome["appointments"], appointments_reconciliation)
        print("\nFiles / الملفات:")
        for path in files:
            print(f"  {path}")
        group = outcome["group"]
        queue, reporting_url = running.url("queue"), running.url("reporting")
        print("\nLive pages / الصفحات الحية:")
        print(f"  display board   {queue}/terminals/board#enrol=<code>  (the one-time code of")
        print(
            f"                  sihha-dev enrol --service {queue} --establishment 31-PC-001 --role display)"
        )
        print(f"  IT monitor      {reporting_url}/monitor/")
        print(f"  wilaya report   {reporting_url}/reports/wilaya/daily/{DEMO_DAY}?format=pdf")
        print(f"  (wilaya-group token for the API: {OUT / 'wilaya-group.token'})")
        (OUT / "wilaya-group.token").write_text(group)
        print(f"\nDone in {time.monotonic() - started:.0f} s.")
        differences = len(reconciliation.get("differences", [])) if reconciliation else -1
        if appointments_reconciliation.get("differences") or not appointments_reconciliation:
            differences = max(differences, 1)
        if args.exit:
            return 0 if differences == 0 else 1
        print("Services keep running; Ctrl-C to stop / للإيقاف Ctrl-C")
        with contextlib.suppress(KeyboardInterrupt):
            while all(p.poll() is None for p in running.processes.values()):
                time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

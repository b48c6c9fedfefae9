"""`make demo`: a day of Oran's health network, running on the platform.

1. starts every service on fresh demo databases (`sihha_demo_*`) and its own
   broker namespace (`demo.`) on a slow simulated clock that reads Sunday 13
   December: the days before, when the pilot polyclinics publish their
   specialists' schedules and citizens book; then starts them again, all on one
   simulated clock: 15 December 2026 from 07:50, running `--speed` times faster
   than real time (only once every service is ready);
2. records the inspection campaign (6–20 November: 31 polyclinics equipped);
3. plays the working day through the services' public APIs, as the clinic
   terminals would, with the calibrated traffic model (`traffic`, figures and
   sources in runner/README.md): about 2,200 patients over the 32 operating
   polyclinics (the busiest about 300, the smallest a few dozen), a crowd at
   the door at opening and a morning peak, counters that call, serve, route to
   the laboratory, radiology or pharmacy, patients gone when called;
   `--clinics N` plays only the N busiest (a smaller, faster day);
4. cuts the broker in the middle of the day (`rabbitmqctl stop_app`, then
   `start_app`): the clinics keep working and the backlog drains afterwards;
5. prints the wilaya's daily report, what its totals are made of, the traffic
   model's figures beside their expected ranges and the reconciliation (report =
   sources, zero differences), writes the report files, and gives links and
   commands that work when pasted (`links`).

Deterministic for a given seed (the patients, their services, priorities and
routes); timings follow the machine. `--exit` stops the platform at the end.
`--ports auto --database-prefix … --namespace … --out …` runs a second platform
beside a running one (the demo's test does, so that `make test` never collides
with a `make demo` left running).
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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from rich.console import Console
from rich.text import Text

from sihha_kit.auth import Role
from sihha_kit.broker import Topology
from sihha_kit.clock import ALGIERS, simulated_clock
from sihha_kit.db import drop_database
from sihha_kit.devtools import TokenIssuer
from sihha_kit.registry import load_registry
from sihha_runner.appointments_day import AppointmentsDay
from sihha_runner.launcher import (
    SERVICES,
    Platform,
    PlatformConfig,
    free_ports,
    running_services,
)
from sihha_runner.links import LINK_TOKEN_HOURS, demo_links
from sihha_runner.progress import Progress
from sihha_runner.simulator import Day
from sihha_runner.traffic import busiest, clinic_visits, day_patients

DEMO_DAY = date(2026, 12, 15)
#: the simulated clock reads this at its anchor (ten minutes before the clinics open)
DAY_START = datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 7, 50, tzinfo=ALGIERS)
#: the days before: citizens book on Sunday 13 December from 09:00, on a slow clock (at
#: the day's speed a hold or a sign-in code would expire between two requests)
BOOKING_START = datetime(2026, 12, 13, 9, 0, tzinfo=ALGIERS)
BOOKING_SPEED = 10.0
NAMESPACE = "demo."
DATABASE_PREFIX = "sihha_demo_"
OUT = Path("out/demo")
STARTUP_SECONDS = 25.0
#: how long the services may take to be ready (a cold start creates and migrates the
#: databases; on a busy 2-core machine that took close to a minute)
READY_TIMEOUT_SECONDS = 240.0


@dataclass(frozen=True)
class DemoPlace:
    """Where a demo runs: its output directory, databases, broker names and ports."""

    out: Path = OUT
    database_prefix: str = DATABASE_PREFIX
    namespace: str = NAMESPACE
    #: service name → port; empty: the services' usual ports
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def sms_sink(self) -> Path:
        return self.out / "sms.jsonl"


def demo_config(
    speed: float, anchor: float, place: DemoPlace | None = None, start: datetime = DAY_START
) -> PlatformConfig:
    """The platform on the demo's simulated clock: it reads `start` at wall-clock
    `anchor` and runs `speed` times faster."""
    place = place or DemoPlace()
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
    extra["APPOINTMENTS_SMS_SINK_PATH"] = str(place.sms_sink.resolve())
    # every simulated citizen books from this one machine: the per-address limits are
    # for the Internet, not for the demo
    extra["APPOINTMENTS_SEARCHES_PER_MINUTE"] = "100000"
    extra["APPOINTMENTS_HOLDS_PER_HOUR"] = "100000"
    extra["APPOINTMENTS_SIGN_INS_PER_HOUR"] = "100000"
    # the enrolment links the demo prints (board, scheduling desk) stay valid as long as
    # its token files
    extra["QUEUE_ENROLMENT_CODE_MINUTES"] = str(LINK_TOKEN_HOURS * 60)
    extra["APPOINTMENTS_ENROLMENT_CODE_MINUTES"] = str(LINK_TOKEN_HOURS * 60)
    # the ministry's DHIS2 payload needs a mapping: the example one shipped with the service
    extra["REPORTING_DHIS2_MAPPING_PATH"] = str(
        Path("services/reporting/dhis2-mapping.example.yaml").resolve()
    )
    return PlatformConfig(
        database_prefix=place.database_prefix,
        broker_namespace=place.namespace,
        extra_env=extra,
        ports=dict(place.ports),
    )


async def reset(config: PlatformConfig) -> None:
    """A demo starts from nothing: its databases and its broker queues are dropped (and
    its test cleans up with the same)."""
    for spec in SERVICES:
        with contextlib.suppress(Exception):
            await drop_database(config.database_url(spec.name))
    topology = Topology(config.broker_namespace)
    connection = await aio_pika.connect(config.amqp_url, timeout=10)
    async with connection:
        for spec in SERVICES:
            # a channel each: the broker closes a channel whose delete it refuses
            for queue in (topology.inbox_queue(spec.name), topology.dead_letter_queue(spec.name)):
                with contextlib.suppress(aio_pika.exceptions.AMQPException):
                    async with await connection.channel() as channel:
                        await channel.queue_delete(queue)
            for exchange in (
                topology.events_exchange(spec.name),
                topology.dead_letter_exchange(spec.name),
            ):
                with contextlib.suppress(aio_pika.exceptions.AMQPException):
                    async with await connection.channel() as channel:
                        await channel.exchange_delete(exchange)


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
    appointments: AppointmentsDay,
) -> dict[str, Any]:
    clock = simulated_clock(DAY_START, args.speed, anchor)
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
    visits = clinic_visits(args.seed, operating)
    played = busiest(visits, args.clinics) if args.clinics < len(operating) else operating
    played_visits = {clinic: visits[clinic] for clinic in played}
    if len(played) < len(operating):
        progress.note(
            f"the day is played at the {len(played)} busiest polyclinics "
            f"({sum(played_visits.values())} patients); the others stay quiet"
        )
    day = Day(
        queue_url=running.url("queue"),
        issuer=issuer,
        clock=clock,
        speed=args.speed,
        day=datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, tzinfo=ALGIERS),
        clinics=played,
        services=services,
        patients=day_patients(args.seed, played_visits),
        seed=args.seed,
        on_progress=progress.update,
    )

    async def outage() -> None:
        await day.until(
            datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 11, 30, tzinfo=ALGIERS)
        )
        await asyncio.to_thread(broker_outage, args.outage_seconds, progress)

    appointments.clock, appointments.speed = clock, args.speed  # the day's clock from now
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
        "played": played_visits,
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
    first_day: date = DEMO_DAY,
) -> dict[str, Any]:
    """Until the reporting service's counts equal the source service's own (or time runs
    out) from `first_day` to the demo day: the queue's, or with `source="appointments"`
    the appointments service's."""
    headers = {"Authorization": f"Bearer {group}"}
    params = {"from": first_day.isoformat(), "to": DEMO_DAY.isoformat(), "source": source}
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


def print_appointments(
    console: Console, stats: Any, reconciliation: dict[str, Any], place: DemoPlace
) -> None:
    """The appointments day: what happened, the reconciliation, and the text messages the
    local SMS sink received (what a gateway would have sent)."""
    counts = stats.counts if stats is not None else {}
    say(
        console, "\nRendez-vous de spécialistes / مواعيد الأخصائيين (31-PC-001, 31-PC-002):", "bold"
    )
    say(
        console,
        "  plannings {s}  rendez-vous pris {b} (dont {d} les jours précédents)  annulés {c}  "
        "arrivées à la borne {a}  absents attendus {n}  liste d'attente : proposée {o}, "
        "acceptée {w}".format(
            s=counts.get("schedules_published", 0),
            b=counts.get("booked", 0) + counts.get("waitlist_accepted", 0),
            d=counts.get("booked_days_before", 0),
            c=counts.get("cancelled", 0),
            a=counts.get("checked_in", 0),
            n=counts.get("stayed_away", 0),
            o=counts.get("waitlist_offered", 0),
            w=counts.get("waitlist_accepted", 0),
        ),
    )
    if stats is not None and stats.errors:
        say(console, f"  refusals / الرفض: {dict(stats.errors)}", "yellow")
    if reconciliation:
        differences = len(reconciliation.get("differences", []))
        say(
            console,
            "  rapprochement / المطابقة (report = appointments service): "
            f"{reconciliation.get('compared', 0)} figures compared, {differences} differences",
            "green" if not differences else "bold red",
        )
    messages = (
        [
            json.loads(line)
            for line in place.sms_sink.read_text(encoding="utf-8").splitlines()
            if line
        ]
        if place.sms_sink.is_file()
        else []
    )
    say(console, f"  SMS (local sink {place.sms_sink}): {len(messages)}")
    for message in [m for m in messages if not re.search(r"\b\d{6}\b", m["text"])][:4]:
        say(console, f"    {message['to']}: {message['text']}", "dim")


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


def say(console: Console, text: str, style: str = "") -> None:
    """One line, as it is (no markup, never wrapped: a link must work when pasted)."""
    console.print(Text(text, style=style), soft_wrap=True)


def print_report(
    console: Console,
    report: dict[str, Any],
    reconciliation: dict[str, Any],
    outcome: dict[str, Any],
) -> None:
    from sihha_runner.report_view import render_daily

    appointments = outcome["appointments"]
    checked_in = appointments.counts.get("checked_in", 0) if appointments is not None else 0
    console.print(
        render_daily(report, reconciliation, outcome["stats"], outcome["played"], checked_in)
    )


def print_links(console: Console, running: Platform, issuer: TokenIssuer, place: DemoPlace) -> None:
    """The live pages and the API commands, as `links.demo_links` makes them; the token
    files they name are written here."""
    urls = {spec.name: running.url(spec.name) for spec in running_services()}
    links, tokens = demo_links(urls, issuer, place.out, DEMO_DAY)
    for path, token in tokens.items():
        Path(path).write_text(token + "\n", encoding="utf-8")
    say(console, "\nLive pages and the API / الصفحات الحية والواجهة البرمجية:", "bold")
    for link in links:
        say(console, f"  {link.label}:", "cyan")
        say(console, f"    {link.url or link.command}")
        if link.note:
            say(console, f"    ({link.note})", "dim")


def book_days_before(
    place: DemoPlace, args: argparse.Namespace, progress: Progress
) -> tuple[AppointmentsDay, float]:
    """The days before the demo day: the platform on a clock that reads Sunday 13
    December, where the schedulers publish and citizens book (`AppointmentsDay.
    days_before`); then it stops. Returns the appointments traffic (to go on with on the
    day) and how long the platform took to start."""
    started = time.monotonic()
    anchor = time.time() + args.startup_seconds
    running = Platform(demo_config(BOOKING_SPEED, anchor, place, start=BOOKING_START))
    try:
        running.start(place.out / "logs")
        running.wait_ready(READY_TIMEOUT_SECONDS)
        took = time.monotonic() - started
        progress.note(f"platform up in {took:.0f} s, on Sunday 13 December: the days before")
        appointments = AppointmentsDay(
            appointments_url=running.url("appointments"),
            queue_url=running.url("queue"),
            issuer=TokenIssuer.from_directory(running.config.keys_dir),
            clock=simulated_clock(BOOKING_START, BOOKING_SPEED, anchor),
            speed=BOOKING_SPEED,
            day=DEMO_DAY,
            seed=args.seed,
            sms_sink=place.sms_sink,
        )
        stats = asyncio.run(appointments.days_before())
    finally:
        running.stop()
    progress.note(
        f"the days before: {stats.counts['schedules_published']} schedules published, "
        f"{stats.counts['booked_days_before']} bookings at the pilot polyclinics"
    )
    return appointments, took


def start_on_time(
    place: DemoPlace, speed: float, startup_seconds: float, progress: Progress, attempts: int = 3
) -> tuple[Platform, float]:
    """Start the platform so that the simulated day begins (07:50) only once every
    service is ready. The services read the simulated clock's anchor when they start, so
    a platform not ready by its anchor is stopped and started again on a later one (half
    as long again as the last start took: a busy machine)."""
    allowed = startup_seconds
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        anchor = time.time() + allowed
        running = Platform(demo_config(speed, anchor, place))
        try:
            running.start(place.out / "logs")
            running.wait_ready(READY_TIMEOUT_SECONDS)
        except BaseException:
            running.stop()
            raise
        took = time.monotonic() - started
        if time.time() < anchor:
            progress.note(f"platform up in {took:.0f} s; the day starts at {allowed:.0f} s")
            return running, anchor
        running.stop()
        progress.note(
            f"the services took {took:.0f} s to start, more than the {allowed:.0f} s allowed "
            f"(--startup-seconds): starting them again on a later clock ({attempt}/{attempts})"
        )
        allowed = 1.5 * took + 5
    raise RuntimeError(
        f"the services did not start in time {attempts} times: the machine is too busy, "
        "or run with a larger --startup-seconds"
    )


def parse_ports(value: str) -> dict[str, int]:
    """`--ports`: "default" (the services' usual ports), "auto" (free ones), or the first
    of consecutive ports in the services' order (queue, appointments, …)."""
    if value == "default":
        return {}
    numbers = free_ports(len(SERVICES)) if value == "auto" else None
    if numbers is None:
        try:
            base = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError("default, auto or a port number") from None
        numbers = [base + n for n in range(len(SERVICES))]
    return {spec.name: port for spec, port in zip(SERVICES, numbers, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sihha-demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clinics",
        type=int,
        default=32,
        help="polyclinics whose day is played, the busiest first (default: all 32 that "
        "operate; fewer makes a smaller, faster day with the same per-clinic figures)",
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
        help="real seconds allowed for the services to start before the day begins "
        "(started again on a later clock if they take longer)",
    )
    parser.add_argument("--exit", action="store_true", help="stop the platform at the end")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output directory (default {OUT})")
    parser.add_argument(
        "--ports",
        type=parse_ports,
        default={},
        help='"default" (8101…8105), "auto" (free ports) or the first of five consecutive ports',
    )
    parser.add_argument(
        "--database-prefix",
        default=DATABASE_PREFIX,
        help=f"prefix of the demo's databases (default {DATABASE_PREFIX}; dropped at start)",
    )
    parser.add_argument(
        "--namespace",
        default=NAMESPACE,
        help=f"prefix of the demo's broker exchanges and queues (default {NAMESPACE})",
    )
    args = parser.parse_args(argv)
    place = DemoPlace(args.out, args.database_prefix, args.namespace, args.ports)

    progress = Progress()
    started = time.monotonic()
    place.sms_sink.unlink(missing_ok=True)
    asyncio.run(reset(demo_config(args.speed, time.time(), place)))
    appointments, took = book_days_before(place, args, progress)
    # a second start is quicker than the first (its databases exist and are migrated)
    allowed = max(args.startup_seconds, 1.2 * took)
    running, anchor = start_on_time(place, args.speed, allowed, progress)
    try:
        issuer = TokenIssuer.from_directory(running.config.keys_dir)
        outcome = asyncio.run(run_day(running, issuer, args, anchor, progress, appointments))
        reconciliation = asyncio.run(wait_for_reporting(running, outcome["group"], progress))
        appointments_reconciliation = asyncio.run(
            wait_for_reporting(
                running,
                outcome["group"],
                progress,
                source="appointments",
                first_day=BOOKING_START.date(),
            )
        )
        place.out.mkdir(parents=True, exist_ok=True)
        files = []
        for name, content in asyncio.run(write_files(running, outcome["group"])):
            (place.out / name).write_bytes(content)
            files.append(place.out / name)
        progress.close()
        report_file = place.out / "wilaya-daily.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else {}
        console = progress.console
        print_report(console, report, reconciliation, outcome)
        print_appointments(console, outcome["appointments"], appointments_reconciliation, place)
        say(console, "\nFiles / الملفات:", "bold")
        for path in files:
            say(console, f"  {path}")
        print_links(console, running, issuer, place)
        say(console, f"\nDone in {time.monotonic() - started:.0f} s.", "bold")
        differences = len(reconciliation.get("differences", [])) if reconciliation else -1
        if appointments_reconciliation.get("differences") or not appointments_reconciliation:
            differences = max(differences, 1)
        if args.exit:
            return 0 if differences == 0 else 1
        say(console, "Services keep running; Ctrl-C to stop / للإيقاف Ctrl-C", "bold green")
        with contextlib.suppress(KeyboardInterrupt):
            while all(p.poll() is None for p in running.processes.values()):
                time.sleep(1)
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

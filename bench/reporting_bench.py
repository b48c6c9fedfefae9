"""Benchmarks of the reporting service (issue #4), each beside a baseline measured in the same run.

1. **Consuming**: N realistic contract events (a mix of whole ticket journeys, heartbeats,
   emergency visits, appointments and encounters from many establishments and days) are
   published to the producers' exchanges and wait in `reporting.inbox`; then the real
   reporting consumer (the kit's `EventConsumer` with the service's batch handler) starts,
   and the clock runs until the N-th event is archived and projected (committed). Baseline:
   raw aio-pika consumption of N messages of the same size from a quorum queue with the same
   arguments (`bench.raw_broker`), in the same run. Targets: ≥ 3,000 events/s and ≥ 30 % of
   the raw rate.
2. **Replay**: `rebuild` of every projection from that archive (N events), in events/s.
   Target ≥ 10,000 events/s.
3. **Monthly ministry report over a 10-million-event archive**: a bench database under a
   fixed name (`sihha_bench_reporting_10m`, kept between runs) holds an archive of
   `archive_events` contract events generated in bulk by SQL (`generate_series`: ticket
   journeys, heartbeats and emergency visits of 36 polyclinics and 8 hospitals over 2026),
   whose projections are built by the real `rebuild` (the first time only; that rebuild is
   timed too). The monthly ministry report (suppression included) is then generated from
   the projections, 5 times; target ≤ 2 s.

    python -m bench.reporting_bench [--events N] [--archive-events M] [--skip-archive]

Loopback only; every loop is bounded in count and time; the run's own databases and broker
names are removed at the end (the cached 10M database is kept on purpose:
`--drop-archive` removes it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
from pydantic import SecretStr

from bench.cleanup import delete_broker_names
from bench.config import BenchConfig
from sihha_contracts.envelope import Envelope
from sihha_kit import metrics
from sihha_kit.broker import Topology
from sihha_kit.db import asyncpg_dsn, drop_database, ensure_database, prepare_database
from sihha_kit.logs import configure_logging
from sihha_reporting.bootstrap import MIGRATIONS, build_context
from sihha_reporting.config import ReportingSettings
from sihha_reporting.entrypoints.consumers import CONSUMER, PRODUCERS
from sihha_reporting.synthetic import EventFactory, algiers, clinic_day

ARCHIVE_DATABASE = "sihha_bench_reporting_10m"
#: bump when the generator or the projections change: the cached archive is then rebuilt
ARCHIVE_GENERATION = 2
TARGET_RATE, TARGET_SHARE, TARGET_REPLAY, TARGET_REPORT_SECONDS = 3000.0, 0.30, 10_000.0, 2.0


# -- events ------------------------------------------------------------------------------


def realistic_events(n: int, seed: int = 7) -> list[Envelope]:
    """About n events: clinics' days (tickets, heartbeats), emergency visits, appointments."""
    factory, rng = EventFactory(), random.Random(seed)
    clinics = [f"31-PC-{i:03d}" for i in range(1, 37)]
    hospitals = ["31-EPH-01", "31-EPH-02", "31-EHS-01", "31-EHS-02", "31-CHU-01", "31-EHU-01"]
    events: list[Envelope] = []
    day = date(2026, 9, 1)
    while len(events) < n:
        if day.weekday() != 4:
            for clinic in clinics:
                events += clinic_day(
                    factory, clinic, day, tickets=25, rng=rng, heartbeat_minutes=60
                )
            for hospital in hospitals:
                for _ in range(10):
                    events += factory.emergency_visit(
                        hospital, algiers(day, rng.randrange(0, 23)), triage_level=rng.randint(1, 5)
                    )
            for clinic in clinics[:2]:
                for _ in range(10):
                    events += factory.appointment(
                        clinic, algiers(day, 9) - timedelta(days=12), algiers(day, 10)
                    )
        day += timedelta(days=1)
    return events[:n]


async def publish_all(
    settings: ReportingSettings, events: list[Envelope], window: int = 1000
) -> None:
    topology = Topology(settings.broker_namespace)
    connection = await aio_pika.connect(
        settings.amqp_url, client_properties={"connection_name": "bench-reporting-publisher"}
    )
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchanges = {
            service: await channel.declare_exchange(
                topology.events_exchange(service), aio_pika.ExchangeType.TOPIC, durable=True
            )
            for service in PRODUCERS
        }
        for start in range(0, len(events), window):
            await asyncio.gather(
                *(
                    exchanges[e.event_type.split(".", 1)[0]].publish(
                        aio_pika.Message(
                            e.model_dump_json().encode(),
                            message_id=str(e.event_id),
                            type=e.event_type,
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=e.event_type,
                        mandatory=True,
                    )
                    for e in events[start : start + window]
                )
            )


def _processed() -> float:
    total = 0.0
    for metric in metrics.REGISTRY.collect():
        if metric.name == "sihha_consumer_processed":
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("consumer") == CONSUMER:
                    total += sample.value
    return total


# -- 1 and 2: consuming, then replaying ---------------------------------------------------


async def consume_and_replay(
    config: BenchConfig, n: int, *, timeout: float = 600.0
) -> dict[str, Any]:
    database_url = config.database("reporting")
    namespace = config.namespace("reporting")
    settings = ReportingSettings(
        database_url=database_url,
        amqp_url=config.amqp_url,
        broker_namespace=namespace,
        schedule_enabled=False,
        log_level="WARNING",
        patient_rekey_key=SecretStr(secrets.token_hex(32)),  # synthetic patients
    )
    await ensure_database(database_url)
    context = build_context(settings)
    topology = Topology(namespace)
    try:
        await prepare_database(database_url, MIGRATIONS)
        generated = time.perf_counter()
        events = realistic_events(n)
        generate_seconds = time.perf_counter() - generated
        await context.consumer.declare()  # the queue must exist before the events are published
        published = time.perf_counter()
        await publish_all(settings, events)
        publish_seconds = time.perf_counter() - published
        before = _processed()
        cpu_started = time.process_time()
        started = time.perf_counter()
        task = asyncio.create_task(context.consumer.run())
        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            while True:
                if _processed() - before >= n:
                    archived = await connection.fetchval("SELECT count(*) FROM event_archive")
                    if archived >= n:
                        break
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(
                        f"{_processed() - before:.0f} of {n} events after {timeout:.0f} s"
                    )
                await asyncio.sleep(0.005)
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await connection.close()
        from sihha_reporting.service_layer.replay import rebuild

        replay = await rebuild(
            context.runtime.sessions, context.projector, chunk_size=settings.replay_chunk_size
        )
        return {
            "events": n,
            "generate_seconds": round(generate_seconds, 2),
            "publish_seconds": round(publish_seconds, 2),
            "consume_seconds": round(seconds, 2),
            "consume_rate": n / seconds,
            "consume_cpu_us_per_event": round(cpu_seconds / n * 1e6, 1),
            "batch_size": settings.consumer_batch_size,
            "prefetch": settings.consumer_prefetch,
            "replay_events": replay.events,
            "replay_seconds": round(replay.seconds, 2),
            "replay_rate": replay.rate,
        }
    finally:
        with contextlib.suppress(Exception):
            await context.runtime.stop()
        with contextlib.suppress(Exception):
            await drop_database(database_url)
        await delete_broker_names(
            config.amqp_url,
            queues=[topology.inbox_queue(CONSUMER), topology.dead_letter_queue(CONSUMER)],
            exchanges=[topology.events_exchange(s) for s in PRODUCERS]
            + [topology.dead_letter_exchange(CONSUMER)],
        )


# -- 3: the monthly ministry report over a large archive ------------------------------------


#: one ticket journey per row of the series: issued, called, started, completed (4 events), plus
#: a heartbeat every 5th ticket and an emergency visit (arrived, triaged, seen, departed) every
#: 40th; times over 2026's working hours, identifiers derived from the series number.
def _uuid(prefix: str, number: str) -> str:
    """A UUID literal from a hex prefix (8 digits) and a bigint expression: cheap to compute."""
    return f"('{prefix}-0000-4000-8000-' || lpad(to_hex({number}), 12, '0'))::uuid"


#: one ticket journey per row of the series: issued, called, started, completed (4 events);
#: times over 2026's working hours, identifiers derived from the series number.
ARCHIVE_SQL = f"""
WITH t AS (
  SELECT g,
         '31-PC-' || lpad((1 + g % 36)::text, 3, '0') AS clinic,
         (ARRAY['MG','PED','DENT','LAB','VAC','SOIN'])[1 + (g / 36) % 6] AS service,
         timestamptz '2026-01-01 07:00:00+00' + ((g * 364) / $3) * interval '1 day'
             + ((g * 7919) % 28800) * interval '1 second' AS arrived,
         (60 + (g * 104729) % 3600) AS wait_s,
         (120 + (g * 1299709) % 1200) AS service_s,
         {_uuid("00000000", "g")} AS ticket,
         {_uuid("00000001", "g")} AS visit,
         {_uuid("00000002", "g % 1000")} AS counter,
         lpad(to_hex(g), 64, 'b') AS patient
  FROM generate_series($1::bigint, $2::bigint) AS g
),
e AS (
  SELECT t.*, k.n, k.kind, k.event_type,
         {_uuid("'||lpad(k.n::text, 8, '0')||'", "g")} AS event_id,
         t.arrived + CASE k.n WHEN 1 THEN interval '0'
                               WHEN 2 THEN t.wait_s * interval '1 second'
                               WHEN 3 THEN (t.wait_s + 60) * interval '1 second'
                               ELSE (t.wait_s + 60 + t.service_s) * interval '1 second' END AS at
  FROM t CROSS JOIN (VALUES (1, 'issued', 'queue.ticket.issued'), (2, 'called', 'queue.ticket.called'),
                            (3, 'started', 'queue.visit.started'), (4, 'completed', 'queue.visit.completed'))
                    AS k(n, kind, event_type)
)
INSERT INTO event_archive (event_id, event_type, schema_version, known, facility_id, aggregate_id,
                           sequence, occurred_at, recorded_at, producer, envelope)
SELECT event_id, event_type, 1, true, clinic, ticket::text, n, at, at, 'queue',
       jsonb_build_object(
         'event_id', event_id, 'event_type', event_type, 'schema_version', 1, 'occurred_at', at,
         'recorded_at', at, 'producer', jsonb_build_object('name', 'queue', 'version', 'bench'),
         'facility_id', clinic, 'aggregate_id', ticket::text, 'sequence', n, 'correlation_id', visit,
         'payload', CASE n
           WHEN 1 THEN jsonb_build_object('ticket_id', ticket, 'visit_id', visit,
                'service_code', service, 'ticket_number', service || '-' || lpad((g % 999 + 1)::text, 3, '0'),
                'service_day', (at AT TIME ZONE 'Africa/Algiers')::date, 'priority', 'normal',
                'channel', 'reception', 'arrived_at', arrived, 'patient_key', patient,
                'age_band', '25-44', 'sex', 'F')
           WHEN 2 THEN jsonb_build_object('ticket_id', ticket, 'visit_id', visit,
                'service_code', service, 'ticket_number', service || '-' || lpad((g % 999 + 1)::text, 3, '0'),
                'counter_id', counter, 'counter_label', 'Box 1', 'reason', 'fifo',
                'waited_seconds', wait_s, 'call_mode', 'next')
           WHEN 3 THEN jsonb_build_object('ticket_id', ticket, 'visit_id', visit, 'counter_id', counter,
                'service_code', service)
           ELSE jsonb_build_object('ticket_id', ticket, 'visit_id', visit, 'service_code', service,
                'service_seconds', service_s, 'visit_finished', true) END)
FROM e
"""

#: a counter terminal's heartbeat per clinic every 30 minutes of the opening hours
HEARTBEATS_SQL = f"""
INSERT INTO event_archive (event_id, event_type, schema_version, known, facility_id, aggregate_id,
                           sequence, occurred_at, recorded_at, producer, envelope)
SELECT event_id, 'queue.terminal.heartbeat', 1, true, clinic, terminal::text, g + 1, at, at, 'queue',
       jsonb_build_object('event_id', event_id, 'event_type', 'queue.terminal.heartbeat',
         'schema_version', 1, 'occurred_at', at, 'recorded_at', at,
         'producer', jsonb_build_object('name', 'queue', 'version', 'bench'), 'facility_id', clinic,
         'aggregate_id', terminal::text, 'sequence', g + 1, 'correlation_id', event_id,
         'payload', jsonb_build_object('terminal_id', terminal, 'terminal_kind', 'counter',
                                       'within_opening_hours', true))
FROM (SELECT g, {_uuid("0000000a", "g")} AS event_id, '31-PC-' || lpad((1 + g % 36)::text, 3, '0') AS clinic,
             {_uuid("0000000b", "g % 36")} AS terminal,
             timestamptz '2026-01-01 07:30:00+00' + (((g / 36) * 364) / $3) * interval '1 day'
               + ((g / 36) % 16) * interval '30 minutes' AS at
      FROM generate_series($1::bigint, $2::bigint) AS g) AS s
"""

#: emergency visits of 7 hospitals: arrived, triaged, seen by a doctor, departed
EMERGENCY_SQL = f"""
INSERT INTO event_archive (event_id, event_type, schema_version, known, facility_id, aggregate_id,
                           sequence, occurred_at, recorded_at, producer, envelope)
SELECT event_id, type, 1, true, hospital, visit::text, n, at, at, 'emergency',
       jsonb_build_object('event_id', event_id, 'event_type', type, 'schema_version', 1,
         'occurred_at', at, 'recorded_at', at,
         'producer', jsonb_build_object('name', 'emergency', 'version', 'bench'), 'facility_id', hospital,
         'aggregate_id', visit::text, 'sequence', n, 'correlation_id', visit, 'payload', payload)
FROM (
  SELECT g, n, hospital, visit, type, arrived + offset_minutes * interval '1 minute' AS at,
         {_uuid("'||lpad((10 + n)::text, 8, '0')||'", "g")} AS event_id,
         CASE n WHEN 1 THEN jsonb_build_object('visit_id', visit, 'arrival_mode', 'walk_in',
                                               'age_band', '45-64', 'sex', 'M')
                WHEN 2 THEN jsonb_build_object('visit_id', visit, 'triage_level', 1 + g % 5, 'zone', 'acute')
                WHEN 3 THEN jsonb_build_object('visit_id', visit, 'minutes_since_arrival', 10 + g % 90)
                ELSE jsonb_build_object('visit_id', visit, 'length_of_stay_minutes', 60 + g % 600,
                                        'disposition', (ARRAY['discharged','admitted','transferred',
                                          'left_without_being_seen','discharged','discharged'])[1 + g % 6]) END
         AS payload
  FROM (SELECT g, (ARRAY['31-EPH-01','31-EPH-02','31-EHS-01','31-EHS-02','31-EHS-04','31-CHU-01','31-EHU-01'])[1 + g % 7]
                 AS hospital,
               {_uuid("0000000e", "g")} AS visit,
               timestamptz '2026-01-01 00:00:00+00' + ((g * 364 * 1440) / $3) * interval '1 minute' AS arrived
        FROM generate_series($1::bigint, $2::bigint) AS g) AS v
  CROSS JOIN (VALUES (1, 'emergency.visit.arrived', 0), (2, 'emergency.visit.triaged', 5),
                     (3, 'emergency.visit.seen_by_doctor', 30), (4, 'emergency.visit.departed', 200))
             AS k(n, type, offset_minutes)
) AS x
"""


async def _load_in_parallel(
    url: str, jobs: list[tuple[str, int, int, int]], *, workers: int, timeout: float
) -> None:
    queue: asyncio.Queue[tuple[str, int, int, int]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(url), command_timeout=timeout)
        try:
            while not queue.empty():
                sql, first, last, size = queue.get_nowait()
                await connection.execute(sql, first, last, size)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _archive_ready(connection: asyncpg.Connection, wanted: int) -> bool:
    exists = await connection.fetchval("SELECT to_regclass('bench_meta') IS NOT NULL")
    if not exists:
        return False
    row = await connection.fetchrow("SELECT events, generation FROM bench_meta")
    return row is not None and row["events"] == wanted and row["generation"] == ARCHIVE_GENERATION


def archive_url(config: BenchConfig, name: str = ARCHIVE_DATABASE) -> str:
    from sqlalchemy.engine import make_url

    return make_url(config.database_url).set(database=name).render_as_string(hide_password=False)


async def prepare_archive(
    config: BenchConfig, events: int, *, name: str = ARCHIVE_DATABASE, timeout: float = 3600.0
) -> dict[str, Any]:
    """Make (or reuse) the cached archive of about `events` events and its projections."""
    url = archive_url(config, name)
    await ensure_database(url)
    await prepare_database(url, MIGRATIONS)
    connection = await asyncpg.connect(asyncpg_dsn(url), command_timeout=timeout)
    try:
        if await _archive_ready(connection, events):
            meta = dict(await connection.fetchrow("SELECT * FROM bench_meta"))
            return {
                "database": name,
                "cached": True,
                **{k: v for k, v in meta.items() if k != "generation"},
            }
        started = time.perf_counter()
        await connection.execute("DROP TABLE IF EXISTS bench_meta")
        await connection.execute("TRUNCATE event_archive")
        tickets = events * 4 // 19  # 4 events per ticket, + a heartbeat per 5 tickets, + ER visits
        heartbeats = tickets // 5
        emergencies = (events - 4 * tickets - heartbeats) // 4
        step = 200_000
        jobs = [
            (ARCHIVE_SQL, first, min(first + step, tickets) - 1, tickets)
            for first in range(0, tickets, step)
        ]
        jobs += [
            (HEARTBEATS_SQL, first, min(first + step, heartbeats) - 1, heartbeats)
            for first in range(0, heartbeats, step)
        ]
        jobs += [
            (EMERGENCY_SQL, first, min(first + step, emergencies) - 1, emergencies)
            for first in range(0, emergencies, step)
        ]
        await _load_in_parallel(url, jobs, workers=2, timeout=timeout)
        await connection.execute("ANALYZE event_archive")
        generate_seconds = time.perf_counter() - started
        total = await connection.fetchval("SELECT count(*) FROM event_archive")
    finally:
        await connection.close()
    settings = ReportingSettings(database_url=url, amqp_url=config.amqp_url, schedule_enabled=False)
    context = build_context(settings)
    try:
        from sihha_reporting.service_layer.replay import rebuild

        replay = await rebuild(context.runtime.sessions, context.projector, chunk_size=20_000)
    finally:
        await context.runtime.engine.dispose()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "CREATE TABLE bench_meta (events bigint, archived bigint, generation int, generate_seconds float8, "
            "replay_seconds float8, replay_rate float8, built_at timestamptz)"
        )
        await connection.execute(
            "INSERT INTO bench_meta VALUES ($1, $2, $3, $4, $5, $6, now())",
            events,
            total,
            ARCHIVE_GENERATION,
            generate_seconds,
            replay.seconds,
            replay.rate,
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return {
        "database": name,
        "cached": False,
        "undecodable": replay.undecodable,
        "events": events,
        "archived": total,
        "generate_seconds": round(generate_seconds, 1),
        "replay_seconds": round(replay.seconds, 1),
        "replay_rate": replay.rate,
    }


async def ministry_report_timing(
    config: BenchConfig, month: str = "2026-06", repeat: int = 5, *, name: str = ARCHIVE_DATABASE
) -> dict[str, Any]:
    from sihha_kit.clock import local_day
    from sihha_reporting.domain import periods

    url = archive_url(config, name)
    now = datetime(2027, 1, 15, 9, tzinfo=UTC)
    settings = ReportingSettings(database_url=url, amqp_url=config.amqp_url, schedule_enabled=False)
    context = build_context(settings, clock=lambda: now)
    try:
        period = periods.monthly(month, local_day(now))
        timings, issued = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            issued = await context.reports.ministry(period, trigger="bench", publish=True)
            timings.append(time.perf_counter() - started)
        assert issued is not None
        tables = {t["id"]: t for t in issued.content["tables"]}
        return {
            "month": month,
            "seconds_first": round(timings[0], 3),
            "seconds_best": round(min(timings), 3),
            "seconds_median": round(sorted(timings)[len(timings) // 2], 3),
            "revision": issued.revision,
            "tickets_issued_wilaya": tables["polyclinic_tickets_by_service"]["cells"][-1][-1],
        }
    finally:
        await context.runtime.engine.dispose()


# -- the whole benchmark ----------------------------------------------------------------


async def _run(n_events: int, archive_events: int, skip_archive: bool) -> dict[str, Any]:
    from bench.raw_broker import run_raw

    config = BenchConfig.from_env()
    raw = await run_raw(config, n_events)
    consume = await consume_and_replay(config, n_events)
    result: dict[str, Any] = {
        "raw_consume_rate": raw.consume_rate,
        "raw": raw.as_dict(),
        "consume": consume,
        "consume_share_of_raw": consume["consume_rate"] / raw.consume_rate,
        "targets": {
            "consume_rate": TARGET_RATE,
            "consume_share_of_raw": TARGET_SHARE,
            "replay_rate": TARGET_REPLAY,
            "report_seconds": TARGET_REPORT_SECONDS,
        },
    }
    if not skip_archive:
        result["archive"] = await prepare_archive(config, archive_events)
        result["ministry_report"] = await ministry_report_timing(config)
    return result


def run(
    n_events: int = 60_000, archive_events: int = 10_000_000, *, skip_archive: bool = False
) -> dict[str, Any]:
    """Run the reporting benchmarks; returns their figures (see the module docstring)."""
    configure_logging("bench", "console", "WARNING")
    return asyncio.run(_run(n_events, archive_events, skip_archive))


async def drop_archive(name: str = ARCHIVE_DATABASE) -> None:
    await drop_database(archive_url(BenchConfig.from_env(), name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reporting_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--events", type=int, default=60_000, help="events consumed and replayed (default 60000)"
    )
    parser.add_argument(
        "--archive-events", type=int, default=10_000_000, help="size of the cached archive"
    )
    parser.add_argument(
        "--skip-archive", action="store_true", help="skip the large-archive report benchmark"
    )
    parser.add_argument(
        "--drop-archive", action="store_true", help="remove the cached archive database and exit"
    )
    args = parser.parse_args(argv)
    if args.drop_archive:
        asyncio.run(drop_archive())
        return 0
    result = run(args.events, args.archive_events, skip_archive=args.skip_archive)
    consume = result["consume"]
    lines = [
        f"raw aio-pika consume            {result['raw_consume_rate']:>10,.0f} msg/s   (baseline, same run)",
        f"reporting consume (archive+proj){consume['consume_rate']:>10,.0f} ev/s    "
        f"{result['consume_share_of_raw']:.0%} of raw  (targets ≥ {TARGET_RATE:,.0f}/s, ≥ {TARGET_SHARE:.0%})",
        f"replay of all projections       {consume['replay_rate']:>10,.0f} ev/s    over {consume['replay_events']:,} events "
        f"(target ≥ {TARGET_REPLAY:,.0f}/s)",
    ]
    if "archive" in result:
        archive, report = result["archive"], result["ministry_report"]
        lines.append(
            f"archive                         {archive.get('archived', 0):>10,} events  "
            + (
                "(cached)"
                if archive["cached"]
                else f"(generated in {archive['generate_seconds']} s)"
            )
            + f", its rebuild {archive['replay_rate']:,.0f} ev/s"
        )
        lines.append(
            f"monthly ministry report         {report['seconds_median']:>10.3f} s       median of 5 "
            f"(first {report['seconds_first']} s; target ≤ {TARGET_REPORT_SECONDS} s)"
        )
    print("\n".join(lines))
    print(json.dumps(result, default=str, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

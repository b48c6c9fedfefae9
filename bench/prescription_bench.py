"""`python -m bench.prescription_bench`: the nomenclature's import and search-as-you-type,
each beside a baseline measured in the same run, on a database of its own (created and
dropped here).

- import of a synthetic full-size edition (5,000 products, the ministry's format) through
  the service's importer — baseline: parsing the same file alone (the floor of any
  import);
- search p99 over 1,000 prefixes (1–6 letters of DCIs and brands, accents and case
  mixed) through `NomenclatureRepository.search` — baseline: the same prefixes matched
  by a sequential `ILIKE` on the products table (what a naive search would do).

- signing a 5-line prescription with its checks (two warnings overridden) at 50 req/s,
  open loop, against the real service (`python -m sihha_queue` in a subprocess, as
  `bench.queue_bench` runs it) → p99 from when each request was due — baseline: the same
  body sent at the same rate to `POST …/prescriptions/check` (the same checks, without
  signing and storing), measured in the same run.

Targets (issue 15): import ≤ 5 s, search p99 ≤ 20 ms, signing p99 ≤ 50 ms at 50 req/s.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import text

from sihha_queue.adapters.nomenclature_import import synthetic_edition
from sihha_queue.bootstrap import build_context
from sihha_queue.config import QueueSettings
from sihha_queue.domain.nomenclature import decode, parse_edition
from sihha_queue.service_layer.prescriptions import import_nomenclature

ADMIN = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


async def main() -> None:
    name = f"sihha_bench_rx_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        settings = QueueSettings(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            amqp_url="amqp://guest:guest@127.0.0.1:5672/",
        )
        context = build_context(settings)
        await context.runtime.prepare()
        data = synthetic_edition(5000)
        started = time.perf_counter()
        parse_edition(decode(data))
        parse_seconds = time.perf_counter() - started
        started = time.perf_counter()
        await import_nomenclature(context.uow(), data, datetime.now(UTC))
        import_seconds = time.perf_counter() - started

        products = parse_edition(decode(data)).products
        rng = random.Random(7)
        prefixes = []
        for _ in range(1000):
            product = rng.choice(products)
            word = rng.choice([product.dci, product.brand]).split()[0]
            prefix = word[: rng.randint(1, 6)]
            prefixes.append(prefix.lower() if rng.random() < 0.5 else prefix)
        async with context.uow() as uow:
            edition = await uow.nomenclature.current_edition()
            assert edition is not None
            search_ms = []
            for prefix in prefixes:
                t0 = time.perf_counter()
                await uow.nomenclature.search(edition["edition_id"], prefix, 20)
                search_ms.append((time.perf_counter() - t0) * 1000)
            naive_ms = []
            for prefix in prefixes:
                t0 = time.perf_counter()
                await uow.session.execute(
                    text(
                        "SELECT * FROM nomenclature_products WHERE edition_id = :e AND "
                        "(dci ILIKE :p OR brand ILIKE :p) ORDER BY dci, brand LIMIT 20"
                    ),
                    {"e": edition["edition_id"], "p": f"%{prefix}%"},
                )
                naive_ms.append((time.perf_counter() - t0) * 1000)
        await context.runtime.engine.dispose()
        print(f"{'benchmark':<34}{'value':>12}{'baseline':>12}{'ratio':>8}")
        print(
            f"{'import 5,000 products (s)':<34}{import_seconds:>12.2f}{parse_seconds:>12.2f}"
            f"{import_seconds / parse_seconds:>8.1f}   (baseline: parsing alone; target ≤ 5 s)"
        )
        print(
            f"{'search p99 (ms)':<34}{p99(search_ms):>12.2f}{p99(naive_ms):>12.2f}"
            f"{p99(search_ms) / p99(naive_ms):>8.2f}   (baseline: sequential ILIKE; target ≤ 20 ms)"
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


FIVE_LINES = [
    ("318/03 B 005/16/23", 1, "tablet", 3),  # paracetamol 500 mg
    ("235/03 B 026/16/25", 1, "tablet", 2),  # paracetamol/codeine: duplicate + interaction
    ("352/01 A 003/06/22", 1, "tablet", 1),  # cetirizine
    ("470/04 B 010/20/25", 1, "tablet", 3),  # ibuprofen
    ("268/03 F 047/12/22", 1, "capsule", 2),  # tramadol
]


async def signing(seconds: float = 10.0, rate: float = 50.0) -> None:
    import json
    import sys
    import tempfile
    from pathlib import Path

    import httpx

    from bench.cleanup import delete_broker_names
    from bench.config import BenchConfig
    from bench.http_baseline import _free_port
    from bench.load import run_load
    from bench.queue_bench import SIMULATED_START, _process, _tree_auth
    from bench.trees import ServiceTree
    from sihha_kit.auth import Role
    from sihha_kit.broker import Topology
    from sihha_kit.db import drop_database, ensure_database

    config = BenchConfig.from_env()
    database_url = config.database("prescriptions")
    namespace = config.namespace("prescriptions")
    await ensure_database(database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="sihha-bench-rx-") as keys:
            clinic = "31-PC-001"
            auth_env, tokens = await _tree_auth(
                ServiceTree.this(),
                Path(keys),
                {
                    "doctor": ("bench:doctor", [Role.doctor.value], [clinic]),
                    "reception": ("bench:reception", [Role.receptionist.value], [clinic]),
                },
            )
            doctor, reception = tokens["doctor"], tokens["reception"]
            port = _free_port()
            env = {
                **os.environ,
                "QUEUE_DATABASE_URL": database_url,
                "QUEUE_AMQP_URL": config.amqp_url,
                "QUEUE_BROKER_NAMESPACE": namespace,
                "QUEUE_HTTP_HOST": "127.0.0.1",
                "QUEUE_HTTP_PORT": str(port),
                **auth_env,
                "QUEUE_PSEUDONYM_KEY_PATH": str(Path(keys) / "pseudonym.key"),
                "QUEUE_PRESCRIPTION_KEYS_DIR": str(Path(keys) / "prescriptions"),
                "QUEUE_LOG_LEVEL": "WARNING",
                "QUEUE_CLOCK_START": SIMULATED_START,
                "QUEUE_CLOCK_SPEED": "1",
                "QUEUE_CLOCK_ANCHOR": repr(time.time()),
            }
            async with _process([sys.executable, "-m", "sihha_queue"], env, port, "/health/live"):
                base = f"http://127.0.0.1:{port}"
                auth = {"Authorization": f"Bearer {doctor}"}
                async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                    await client.post(
                        f"/establishments/{clinic}/tickets",
                        json={"service_code": "MG"},
                        headers={"Authorization": f"Bearer {reception}"},
                    )
                    import uuid

                    counter = uuid.uuid5(uuid.NAMESPACE_URL, f"sihha:{clinic}:MG:1")
                    called = await client.post(
                        f"/establishments/{clinic}/counters/{counter}/call-next", headers=auth
                    )
                    ticket = called.json()["ticket"]["ticket_id"]
                    await client.post(
                        f"/establishments/{clinic}/tickets/{ticket}/start", headers=auth
                    )
                    draft = {
                        "ticket_id": ticket,
                        "lines": [
                            {
                                "registration": r,
                                "dose": d,
                                "dose_unit": u,
                                "route": "oral",
                                "frequency_per_day": f,
                                "duration_days": 5,
                                "quantity": 1,
                            }
                            for r, d, u, f in FIVE_LINES
                        ],
                    }
                    checked = await client.post(
                        f"/establishments/{clinic}/prescriptions/check", json=draft, headers=auth
                    )
                    checked.raise_for_status()
                    draft["overrides"] = [
                        {"key": w["key"], "reason": "benchmark"} for w in checked.json()["warnings"]
                    ]
                body = json.dumps(draft).encode()
                url = f"{base}/establishments/{clinic}/prescriptions"
                check_result = await run_load(
                    url + "/check", method="POST", body=lambda _: body, headers=auth,
                    rate=rate, seconds=seconds,
                )  # fmt: skip
                sign_result = await run_load(
                    url, method="POST", body=lambda _: body, headers=auth, rate=rate,
                    seconds=seconds,
                )  # fmt: skip
    finally:
        await drop_database(database_url)
        topology = Topology(namespace)
        await delete_broker_names(
            config.amqp_url,
            queues=[topology.inbox_queue("queue"), topology.dead_letter_queue("queue")],
            exchanges=[
                topology.events_exchange("queue"),
                topology.events_exchange("appointments"),
                topology.dead_letter_exchange("queue"),
            ],
        )
    signed, checked_only = sign_result.summary(), check_result.summary()
    label = f"sign 5 lines p99 (ms), {rate:.0f} req/s"
    print(
        f"{label:<34}{signed['p99_ms']:>12.2f}"
        f"{checked_only['p99_ms']:>12.2f}{signed['p99_ms'] / checked_only['p99_ms']:>8.2f}"
        f"   (baseline: the same checks without signing; target ≤ 50 ms; "
        f"{signed['ok']} signed, statuses {signed['statuses']})"
    )


if __name__ == "__main__":
    asyncio.run(main())
    asyncio.run(signing())

"""`python -m bench.prescription_bench`: the nomenclature's import and search-as-you-type,
each beside a baseline measured in the same run, on a database of its own (created and
dropped here).

- import of a synthetic full-size edition (5,000 products, the ministry's format) through
  the service's importer — baseline: parsing the same file alone (the floor of any
  import);
- search p99 over 1,000 prefixes (1–6 letters of DCIs and brands, accents and case
  mixed) through `NomenclatureRepository.search` — baseline: the same prefixes matched
  by a sequential `ILIKE` on the products table (what a naive search would do).

Targets (issue 15): import ≤ 5 s, search p99 ≤ 20 ms. Signing at 50 req/s is not
measured yet.
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


if __name__ == "__main__":
    asyncio.run(main())

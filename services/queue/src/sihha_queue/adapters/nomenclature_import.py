"""Import a file of the national nomenclature into the queue service's database.

    python -m sihha_queue.adapters.nomenclature_import FILE [--published-on YYYY-MM-DD]
    python -m sihha_queue.adapters.nomenclature_import --excerpt     # the shipped excerpt

Settings come from the ``QUEUE_*`` variables (the database). The file is taken whole
or refused with its line and reason (exit status 2); the same file twice is imported
once. Prints the edition and what changed since the previous one, as JSON.

``sihha_queue/data/nomenclature-dz-2026-06.excerpt.csv`` is a verbatim excerpt of the
ministry's June 2026 edition (386 products), kept as reference and test data.
`synthetic_edition` builds a full-size file of the same format from it, for tests,
benchmarks and the demo (the real file has ~5,000 products).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

EXCERPT = "nomenclature-dz-2026-06.excerpt.csv"


def excerpt_bytes() -> bytes:
    """The shipped verbatim excerpt of the June 2026 edition."""
    return resources.files("sihha_queue").joinpath("data", EXCERPT).read_bytes()


def synthetic_edition(
    products: int, *, withdraw_every: int = 0, seed_text: bytes | None = None
) -> bytes:
    """A nomenclature file of `products` rows in the ministry's format: the excerpt's
    title rows and header, then its rows repeated with new serials, codes and brand
    names (each copy a distinct product of the same DCI, form, dosage and list).
    `withdraw_every` > 0 leaves out every n-th row of the excerpt (a later edition
    that withdrew them)."""
    text = (seed_text or excerpt_bytes()).decode("utf-8-sig")
    lines = text.splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("N°;"))
    head, rows = lines[: header_at + 1], [r for r in lines[header_at + 1 :] if r.strip(";")]
    out = list(head)
    for n in range(products):
        base = rows[n % len(rows)].split(";")
        copy = n // len(rows)
        if withdraw_every and copy == 0 and n % withdraw_every == 0:
            continue
        if copy:
            code = base[2]
            letter = chr(ord("A") + (copy % 26))
            new_code = f"{code[:2]} {letter} {(int(code[-3:]) + copy * 7) % 1000:03d}"
            serial = f"{(copy * 1000 + n) % 100000:05d}"
            base[1] = f"{serial}/{new_code}/{base[1].split('/')[2]}"
            base[2] = new_code
            base[4] = f"{base[4]} G{copy}"
        base[0] = str(n + 1)
        out.append(";".join(base))
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


async def run(data: bytes, published_on: date | None) -> dict[str, Any]:
    from sihha_queue.bootstrap import build_context
    from sihha_queue.config import QueueSettings
    from sihha_queue.service_layer.prescriptions import import_nomenclature

    settings = QueueSettings()
    context = build_context(settings)
    await context.runtime.prepare()
    try:
        report = await import_nomenclature(
            context.uow(), data, datetime.now().astimezone(), published_on=published_on
        )
    finally:
        await context.runtime.engine.dispose()
    return {
        "edition_id": report.edition_id,
        "published_on": str(report.published_on),
        "products": report.product_count,
        "already_imported": report.already_imported,
        "changes": report.changes.as_dict() if report.changes else None,
    }


def main(argv: list[str] | None = None) -> int:
    from sihha_queue.domain.nomenclature import NomenclatureFileError  # noqa: F401

    parser = argparse.ArgumentParser(prog="python -m sihha_queue.adapters.nomenclature_import")
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--excerpt", action="store_true", help="import the shipped excerpt")
    parser.add_argument("--published-on", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    if not args.excerpt and args.file is None:
        parser.error("give a FILE or --excerpt")
    data = excerpt_bytes() if args.excerpt else args.file.read_bytes()
    from sihha_kit.errors import DomainProblem

    try:
        result = asyncio.run(run(data, args.published_on))
    except DomainProblem as problem:
        print(json.dumps({"refused": problem.code, **problem.extra}, ensure_ascii=False))
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

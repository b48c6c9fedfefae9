"""Import a file of the national nomenclature into the queue service's database.

    python -m sihha_queue.nomenclature_cli FILE [--published-on YYYY-MM-DD]
    python -m sihha_queue.nomenclature_cli --excerpt     # the shipped excerpt

Settings come from the ``QUEUE_*`` variables (the database). The file is taken whole
or refused with its line and reason (exit status 2); the same file twice is imported
once. Prints the edition and what changed since the previous one, as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sihha_queue.adapters.nomenclature_import import excerpt_bytes


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
    parser = argparse.ArgumentParser(prog="python -m sihha_queue.nomenclature_cli")
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

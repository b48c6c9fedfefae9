"""The operator commands (see `python -m sihha_reporting --help`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sihha_kit.clock import local_day
from sihha_kit.db import prepare_database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sihha_reporting", description="Sihha reporting service"
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the HTTP API, the consumer and the workers (default)")
    commands.add_parser(
        "declare-inboxes",
        help="declare the service's inbox (queue, bindings, dead-letter path) and apply its "
        "policy where it may, then exit; run before any producer starts (needs the broker, "
        "not the database; exit 1 if the broker does not accept it in "
        "REPORTING_DECLARE_INBOXES_TIMEOUT_SECONDS)",
    )
    commands.add_parser("rebuild", help="rebuild every projection from the event archive")
    commands.add_parser(
        "rekey-archive",
        help="re-key the patient keys of events archived before re-keying (the service also "
        "does it at start-up)",
    )
    reconcile = commands.add_parser(
        "reconcile", help="compare report counts with the producers' own"
    )
    reconcile.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    reconcile.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    reconcile.add_argument(
        "--source", choices=["queue", "appointments"], default="queue", help="whose counts"
    )
    dead = commands.add_parser("replay-dead-letters", help="move dead letters back into the inbox")
    dead.add_argument("--consumer", default="reporting")
    dead.add_argument("--limit", type=int, default=100_000)
    report = commands.add_parser(
        "report", help="generate a report (published if its period is closed)"
    )
    report.add_argument("family", choices=["wilaya", "ministry"])
    report.add_argument(
        "--period",
        required=True,
        help="YYYY-MM-DD (daily), week:YYYY-MM-DD (weekly), YYYY-MM (monthly), YYYY-MM-DD..YYYY-MM-DD",
    )
    report.add_argument("--format", default="json", choices=["json", "csv", "xlsx", "pdf", "dhis2"])
    report.add_argument("--lang", default="fr", choices=["fr", "ar"])
    report.add_argument("--out", type=Path, help="file to write (default: standard output)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in (None, "serve"):
        from sihha_kit.serve import serve
        from sihha_reporting.bootstrap import create_app
        from sihha_reporting.config import ReportingSettings

        settings = ReportingSettings()
        serve(create_app(settings), settings)
        return 0
    if args.command == "declare-inboxes":
        from sihha_kit.runtime import declare_inboxes_main
        from sihha_reporting.bootstrap import build_context
        from sihha_reporting.config import ReportingSettings

        settings = ReportingSettings()
        return declare_inboxes_main(settings, lambda: build_context(settings).runtime)
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from sihha_kit.logs import configure_logging
    from sihha_reporting.bootstrap import MIGRATIONS, build_context
    from sihha_reporting.config import ReportingSettings

    settings = ReportingSettings()
    configure_logging(settings.service_name, settings.log_format, "WARNING")
    context = build_context(settings)
    try:
        if args.command == "replay-dead-letters":
            from sihha_reporting.adapters.broker_admin import replay_dead_letters

            moved = await replay_dead_letters(
                settings.amqp_url, context.runtime.broker.topology, args.consumer, limit=args.limit
            )
            print(json.dumps({"consumer": args.consumer, "replayed": moved}))
            return 0
        await prepare_database(settings.database_url, MIGRATIONS)
        if args.command == "rebuild":
            from sihha_reporting.service_layer.replay import rebuild

            result = await rebuild(
                context.runtime.sessions, context.projector, chunk_size=settings.replay_chunk_size
            )
            print(
                json.dumps(
                    {
                        "events": result.events,
                        "undecodable": result.undecodable,
                        "seconds": round(result.seconds, 2),
                        "events_per_second": round(result.rate),
                    }
                )
            )
            return 0
        if args.command == "rekey-archive":
            from sihha_reporting.service_layer.archive import rekey_archive

            done = await rekey_archive(context.runtime.sessions, context.rekeyer)
            print(json.dumps({"rekeyed": done}))
            return 0
        if args.command == "reconcile":
            from sihha_reporting.service_layer.reconciliation import reconcile
            from sihha_reporting.service_layer.sources import SOURCES

            source = SOURCES[args.source](settings)
            outcome = await reconcile(context.uow, source, args.start, args.end)
            print(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
            return 0 if outcome.ok else 1
        if args.command == "report":
            return await _report(context, args)
    finally:
        await context.runtime.engine.dispose()
    return 2


async def _report(context: object, args: argparse.Namespace) -> int:
    from sihha_reporting.context import ReportingContext
    from sihha_reporting.domain import periods
    from sihha_reporting.rendering.pdf import to_pdf
    from sihha_reporting.rendering.tabular import to_csv, to_xlsx

    assert isinstance(context, ReportingContext)
    today = local_day(context.clock())
    text: str = args.period
    if ".." in text:
        start, end = text.split("..", 1)
        period = periods.custom(date.fromisoformat(start), date.fromisoformat(end), today)
    elif text.startswith("week:"):
        period = periods.weekly(date.fromisoformat(text[5:]), today)
    elif len(text) == 7:
        period = periods.monthly(text, today)
    else:
        period = periods.daily(date.fromisoformat(text), today)
    if args.family == "ministry":
        issued = await context.reports.ministry(period, trigger="command", publish=True)
    else:
        issued = await context.reports.wilaya(period, trigger="command", publish=True)
    document = issued.document()
    if args.format == "dhis2":
        body = json.dumps(context.reports.dhis2(issued), ensure_ascii=False, indent=2).encode()
    elif args.format == "json":
        body = json.dumps(document, ensure_ascii=False, indent=2).encode()
    elif args.format == "csv":
        body = to_csv(document, args.lang)
    elif args.format == "xlsx":
        body = to_xlsx(document, args.lang)
    else:
        body = to_pdf(
            document,
            args.lang,
            font=context.settings.pdf_font_path,
            bold=context.settings.pdf_bold_font_path,
        )
    if args.out:
        args.out.write_bytes(body)
        print(
            json.dumps(
                {"file": str(args.out), "status": issued.status, "revision": issued.revision}
            ),
            file=sys.stderr,
        )
    else:
        sys.stdout.buffer.write(body)
    return 0

"""`python -m bench [all|raw|pipeline|http|queue] [--n N] [--seconds S]`

Prints a table (each figure beside its baseline, and the ratio) and writes the same
as JSON to `bench/results/latest.json`. `pipeline` runs `raw` first: its ratio is
to the raw end-to-end rate measured in the same run, on the same machine state;
`queue` measures its HTTP baseline (the bare INSERT) just before the service and again
right after the service's closed loop, and compares to the mean of the two.

`python -m bench faults [--rounds N] [--fast]` runs the fault matrix instead
(`bench/faults.py`, its own options): not a benchmark, not part of `all`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import asyncpg

from bench.config import BenchConfig
from bench.cpu import ceilings, describe
from bench.http_baseline import HttpResult, run_http
from bench.pipeline import PipelineResult, PipelineSettings, run_pipeline
from bench.queue_bench import (
    CALL_P99_TARGET_MS,
    ISSUE_SHARE_TARGET,
    OPEN_P99_TARGET_MS,
    QueueResult,
    run_queue,
)
from bench.raw_broker import RawResult, run_raw
from bench.trees import ServiceTree, pipeline_in_tree
from sihha_kit.db import asyncpg_dsn
from sihha_kit.logs import configure_logging

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

#: the pipeline should stay at or above this share of the raw end-to-end rate (issue 12)
PIPELINE_TARGET = 0.40

T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_of: str = ""
    note: str = ""
    baseline_unit: str = ""  # when not the value's

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def raw_rows(raw: RawResult) -> list[Row]:
    how = (
        f"N={raw.n}, {raw.body_bytes} B, window {raw.window}, prefetch {raw.prefetch}, "
        f"ack every {raw.ack_every}"
    )
    return [
        Row("raw", "publish, persistent + confirms", raw.publish_rate, "msg/s", note=how),
        Row("raw", "consume, manual ack", raw.consume_rate, "msg/s"),
        Row(
            "raw",
            "end to end (publish ‖ consume)",
            raw.end_to_end_rate,
            "msg/s",
            note="the pipeline's baseline",
        ),
        Row(
            "raw",
            "  client CPU per message, end to end",
            raw.end_to_end_cpu_us,
            "µs",
            note="publisher + consumer, one process",
        ),
    ]


def pipeline_rows(pipeline: PipelineResult, raw: RawResult | None) -> list[Row]:
    settings = pipeline.settings
    how = (
        f"N={pipeline.n}, relay batch {settings.relay_batch}, "
        f"consumer batch {settings.consumer_batch}, prefetch {settings.prefetch}"
        + (", relay in its own process" if settings.relay_process else "")
    )
    baseline = raw.end_to_end_rate if raw is not None else None
    row = Row(
        "pipeline",
        "outbox → broker → inbox + effect",
        pipeline.rate,
        "events/s",
        baseline,
        "raw end to end" if raw is not None else "",
        how,
        baseline_unit="msg/s",
    )
    rows = [
        row,
        Row(
            "pipeline",
            "  process CPU per event",
            pipeline.cpu_us_per_event,
            "µs",
            raw.end_to_end_cpu_us if raw is not None else None,
            "raw client CPU" if raw is not None else "",
            (
                "relay + consumer, two processes (the relay's own included)"
                if settings.relay_process
                else "relay + consumer, one process; steadier than rates on a busy machine"
            ),
        ),
    ]
    if row.ratio is not None:
        verdict = "met" if row.ratio >= PIPELINE_TARGET else "NOT met"
        rows.append(
            Row(
                "pipeline",
                f"target ≥ {PIPELINE_TARGET:.0%} of raw",
                None,
                "",
                note=verdict,
            )
        )
    if pipeline.publish_failures:
        rows.append(
            Row(
                "pipeline",
                "publish failures (retried)",
                pipeline.publish_failures,
                "",
                note="broker disturbed during the run: figure not fair",
            )
        )
    return rows


def other_pipeline_rows(label: str, report: dict[str, Any]) -> list[Row]:
    """Another tree's raw and pipeline figures (`--before`), from its own run's report."""
    raw, pipeline = report["raw"], report["pipeline"]
    name = f"pipeline {label}"
    ratio = pipeline["rate"] / raw["end_to_end_rate"] if raw["end_to_end_rate"] else None
    verdict = "" if ratio is None else ("met" if ratio >= PIPELINE_TARGET else "NOT met")
    return [
        Row(name, "raw end to end (its own run)", raw["end_to_end_rate"], "msg/s"),
        Row(
            name,
            "outbox → broker → inbox + effect",
            pipeline["rate"],
            "events/s",
            raw["end_to_end_rate"],
            "raw end to end, its run",
            f"N={pipeline['n']}; target ≥ {PIPELINE_TARGET:.0%} of raw: {verdict}",
            baseline_unit="msg/s",
        ),
        Row(
            name,
            "  process CPU per event",
            pipeline["cpu_us_per_event"],
            "µs",
            raw["end_to_end_cpu_us"],
            "raw client CPU, its run",
        ),
    ]


def http_rows(http: HttpResult) -> list[Row]:
    closed, opened, ceiling = http.closed, http.open, http.ceiling
    at = f"@{closed.concurrency} conns"

    def ms(value: float | None) -> float | None:
        return None if value is None else value * 1000

    rows = [
        Row(
            "http",
            f"throughput {at}",
            closed.throughput,
            "req/s",
            ceiling.throughput,
            "load generator ceiling",
            f"{closed.seconds:.0f} s, {closed.failed} failed",
        ),
        Row("http", f"latency p50 {at}", ms(closed.percentile(50)), "ms"),
        Row("http", f"latency p99 {at}", ms(closed.percentile(99)), "ms"),
        Row(
            "http",
            f"latency p99 @{opened.rate:.0f} req/s (open loop)",
            ms(opened.percentile(99)),
            "ms",
            note=f"p50 {ms(opened.percentile(50)) or 0:.2f} ms, {opened.failed} failed",
        ),
    ]
    return rows


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _ceiling(run: QueueResult) -> tuple[float | None, float | None]:
    """`bench.cpu.ceilings` of a round's issuing beside its baseline, in %."""
    spread, free = ceilings(run.baseline.machine, run.issue.machine)
    return (
        spread * 100 if spread is not None else None,
        free * 100 if free is not None else None,
    )


def queue_rows(label: str, runs: list[QueueResult]) -> list[Row]:
    """One service's figures; over several rounds each is the median of the rounds (and
    the ratio of the issue figure the median of the rounds' ratios)."""
    name = f"queue {label}"
    last = runs[-1]
    issue, opened, call = last.issue, last.open, last.call

    def ms(value: float | None) -> float | None:
        return None if value is None else value * 1000

    def med(figure: Callable[[QueueResult], float | None]) -> float | None:
        return _median([figure(run) for run in runs])

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    def each(figure: Callable[[QueueResult], float | None], form: str) -> str:
        if len(runs) == 1:
            return ""
        values = [figure(run) for run in runs]
        return "rounds " + " / ".join(form.format(v) if v is not None else "?" for v in values)

    at = f"@{issue.concurrency} conns"
    share = med(lambda run: run.share)
    throughput = med(lambda run: run.issue.throughput)
    base = med(lambda run: run.baseline_throughput)
    open_p99 = med(lambda run: ms(run.open.percentile(99)))
    call_p99 = med(lambda run: ms(run.call.calls.percentile(99)))
    waiting = sum(call.waiting_before.values())
    busiest = max(call.waiting_before.items(), key=lambda item: item[1], default=("", 0))
    failed = sum(run.issue.failed for run in runs)
    rounds = f"median of {len(runs)} rounds; " if len(runs) > 1 else ""
    return [
        Row(
            name,
            f"issue ticket, throughput {at}",
            throughput,
            "req/s",
            base,
            "http INSERT, mean of the runs before and after",
            f"{rounds}{issue.seconds:.0f} s, {failed} failed; median ratio {share or 0:.1%}, target "
            f"≥ {ISSUE_SHARE_TARGET:.0%}: "
            + (verdict(share >= ISSUE_SHARE_TARGET) if share is not None else "?"),
        ),
        *(
            [Row(name, "  ratio per round", None, "", note=each(lambda run: run.share, "{:.1%}"))]
            if len(runs) > 1
            else []
        ),
        Row(name, f"issue latency p50 {at}", med(lambda run: ms(run.issue.percentile(50))), "ms",
            med(lambda run: ms(run.baseline.percentile(50))), "http INSERT"),
        Row(name, f"issue latency p99 {at}", med(lambda run: ms(run.issue.percentile(99))), "ms",
            med(lambda run: ms(run.baseline.percentile(99))), "http INSERT"),
        Row(name, "  baseline runs, before / after", last.baseline.throughput, "req/s", None, "",
            f"{last.baseline.throughput:,.0f} before the service, "
            + (f"{last.baseline_after.throughput:,.0f} after its closed loop"
               if last.baseline_after else "no second run") + " (last round)"),
        Row(name, "  server CPU per request", med(lambda run: run.issue_cpu_us), "µs",
            med(lambda run: run.baseline_cpu), "http INSERT",
            "every process of the service; steadier than rates"),
        Row(name, "  the machine's ceiling, CPU spread over every core",
            med(lambda run: _ceiling(run)[0]), "% of base", None, "",
            "the most any number of workers or relay processes could give (bench.cpu.ceilings); "
            + describe(last.issue.machine)),
        Row(name, "  the machine's ceiling, the service's own CPU nothing",
            med(lambda run: _ceiling(run)[1]), "% of base", None, "",
            "PostgreSQL, RabbitMQ and the load generator as measured; baseline's "
            + describe(last.baseline.machine)),
        Row(
            name,
            f"issue latency p99 @{opened.rate:.0f} req/s (open loop)",
            open_p99,
            "ms",
            OPEN_P99_TARGET_MS,
            "target",
            f"p50 {ms(opened.percentile(50)) or 0:.2f} ms, "
            f"{sum(run.open.failed for run in runs)} failed; "
            + (verdict(open_p99 <= OPEN_P99_TARGET_MS) if open_p99 is not None else "?")
            + ("; " + each(lambda run: ms(run.open.percentile(99)), "{:.1f}")
               if len(runs) > 1 else ""),
        ),
        Row(name, f"call-next p50, {waiting:,} waiting",
            med(lambda run: ms(run.call.calls.percentile(50))), "ms",
            note=f"{busiest[1]} of them at {busiest[0]}; {call.rate:.0f} cycles/s of 4 requests"),
        Row(
            name,
            f"call-next p99, {waiting:,} waiting",
            call_p99,
            "ms",
            CALL_P99_TARGET_MS,
            "target",
            f"{call.calls.ok} calls, {sum(run.call.calls.failed for run in runs)} failed; "
            + (verdict(call_p99 <= CALL_P99_TARGET_MS) if call_p99 is not None else "?")
            + ("; " + each(lambda run: ms(run.call.calls.percentile(99)), "{:.1f}")
               if len(runs) > 1 else ""),
        ),
        Row(name, "  call-next p50, one cycle at a time",
            med(lambda run: ms(run.call.alone.calls.percentile(50))), "ms",
            note=f"p99 {ms(call.alone.calls.percentile(99)) or 0:.2f} ms over "
            f"{call.alone.calls.ok} calls (last round): the request with nothing else to wait for"),
    ]  # fmt: skip


def queue_comparison(results: dict[str, list[QueueResult]]) -> list[Row]:
    """Each service's issue throughput beside the first's (`--before`: the old code)."""
    labels = list(results)
    if len(labels) < 2:
        return []
    first = labels[0]
    reference = _median([run.issue.throughput for run in results[first]])
    rows = []
    for label in labels[1:]:
        value = _median([run.issue.throughput for run in results[label]])
        rows.append(
            Row("queue", f"issue throughput, {label}", value, "req/s", reference, first,
                "same run; the ratio of each to the baseline above is the steadier figure")
        )  # fmt: skip
    return rows


def _format_value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "ms":
        return f"{value:,.2f} {unit}"
    return f"{value:,.0f} {unit}".strip()


def render(rows: list[Row]) -> str:
    table = [("bench", "figure", "value", "baseline", "ratio", "note")]
    for row in rows:
        baseline = ""
        if row.baseline is not None:
            unit = row.baseline_unit or row.unit
            baseline = f"{_format_value(row.baseline, unit)} ({row.baseline_of})"
        ratio = f"{row.ratio:.1%}" if row.ratio is not None else ""
        table.append(
            (
                row.benchmark,
                row.figure,
                _format_value(row.value, row.unit),
                baseline,
                ratio,
                row.note,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = []
    for index, line in enumerate(table):
        cells = [
            cell.rjust(width) if column in (2, 4) else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


async def _versions(config: BenchConfig) -> dict[str, str | None]:
    found: dict[str, str | None] = {"postgresql": None, "rabbitmq": None}
    try:
        connection = await asyncpg.connect(asyncpg_dsn(config.database_url), timeout=10)
        try:
            found["postgresql"] = str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()
    except (OSError, asyncpg.PostgresError):
        pass
    try:
        amqp = await aio_pika.connect(config.amqp_url, timeout=10)
        try:
            version = amqp.transport.connection.server_properties.get("version")  # type: ignore[union-attr]
            found["rabbitmq"] = version.decode() if isinstance(version, bytes) else str(version)
        finally:
            await amqp.close()
    except Exception:
        pass
    return found


def _loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """uvloop when installed, as uvicorn runs our services; else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None, "asyncio"
    return uvloop.new_event_loop, "uvloop"


async def _timed(label: str, coroutine: Coroutine[Any, Any, T], errors: dict[str, str]) -> T | None:
    print(f"… {label}", file=sys.stderr, flush=True)
    began = time.perf_counter()
    try:
        result = await coroutine
    except Exception as error:  # report it and go on with the other benchmarks
        errors[label] = f"{type(error).__name__}: {error}"
        traceback.print_exc()
        return None
    print(f"  {label} done in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return result


async def main_async(args: argparse.Namespace, loop_name: str) -> int:
    config = BenchConfig.from_env()
    which = args.benchmark
    errors: dict[str, str] = {}
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "benchmark": which,
        "n": args.n,
        "seconds": args.seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
            "event_loop": loop_name,
            **await _versions(config),
        },
    }
    rows: list[Row] = []
    raw: RawResult | None = None
    if which in ("all", "raw", "pipeline"):
        raw = await _timed(
            "raw",
            run_raw(
                config,
                args.n,
                window=args.window,
                prefetch=args.raw_prefetch,
                ack_every=args.ack_every,
            ),
            errors,
        )
        if raw is not None:
            report["raw"] = raw.as_dict()
            rows += raw_rows(raw)
    if which in ("all", "pipeline") and args.before:
        tree = ServiceTree.other(Path(args.before))
        other = await _timed(f"pipeline of {tree.label}", pipeline_in_tree(tree, args.n), errors)
        if other is not None:
            report["pipeline_before"] = {"tree": str(tree.root), **other}
            rows += other_pipeline_rows(tree.label, other)
    if which in ("all", "pipeline"):
        settings = PipelineSettings(
            **{
                name: value
                for name, value in (
                    ("relay_batch", args.relay_batch),
                    ("consumer_batch", args.consumer_batch),
                    ("prefetch", args.prefetch),
                    ("relay_process", args.relay_process),
                )
                if value is not None
            }
        )
        pipeline = await _timed("pipeline", run_pipeline(config, args.n, settings), errors)
        if pipeline is not None:
            report["pipeline"] = pipeline.as_dict()
            rows += pipeline_rows(pipeline, raw)
            if raw is not None:
                report["pipeline"]["ratio_to_raw_end_to_end"] = pipeline.rate / raw.end_to_end_rate
                report["pipeline"]["target_ratio"] = PIPELINE_TARGET
    if which in ("all", "http"):
        http = await _timed(
            "http",
            run_http(config, seconds=args.seconds, concurrency=args.concurrency, rate=args.rate),
            errors,
        )
        if http is not None:
            report["http"] = http.as_dict()
            rows += http_rows(http)
    if which in ("all", "queue"):
        trees = [ServiceTree.other(Path(args.before))] if args.before else []
        trees += [ServiceTree.this(workers) for workers in args.workers]
        if args.relay_apart:
            trees += [ServiceTree.this(workers, "separate") for workers in args.workers]
        failed: dict[str, str] = {}
        queue = await _timed(
            "queue",
            run_queue(
                config,
                seconds=args.seconds,
                concurrency=args.concurrency,
                rate=args.rate,
                waiting=args.waiting,
                call_rate=args.call_rate,
                trees=trees,
                rounds=args.rounds,
                failures=failed,
            ),
            errors,
        )
        for what, error in failed.items():
            errors[f"queue {what}"] = error
        if queue is not None:
            report["queue"] = {
                label: [run.as_dict() for run in runs] for label, runs in queue.items()
            }
            for label, runs in queue.items():
                rows += queue_rows(label, runs)
            rows += queue_comparison(queue)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["rows"] = [row.as_dict() for row in rows]
    report["errors"] = errors

    print()
    print(render(rows))
    for label, error in errors.items():
        print(f"{label}: FAILED: {error}")
    load = report["machine"]
    print(
        f"\n{load['cpus']} CPUs, {loop_name}; load average {load['load_average_before'][0]} "
        f"before, {load['load_average_after'][0]} after (other work on the machine skews "
        "every figure)"
    )
    await asyncio.to_thread(write_json, Path(args.output), report)
    return 1 if errors else 0


def write_json(output: Path, report: dict[str, Any]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written: {output}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "benchmark", nargs="?", default="all", choices=["all", "raw", "pipeline", "http", "queue"]
    )
    parser.add_argument("--n", type=int, default=20_000, help="events for raw and pipeline")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="duration of each HTTP load phase"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP closed-loop connections")
    parser.add_argument("--rate", type=float, default=100.0, help="HTTP open-loop requests/s")
    parser.add_argument("--window", type=int, default=500, help="raw: confirms awaited together")
    parser.add_argument("--raw-prefetch", type=int, default=1000, help="raw: consumer prefetch")
    parser.add_argument(
        "--ack-every", type=int, default=100, help="raw: deliveries per (multiple) ack"
    )
    parser.add_argument("--relay-batch", type=int, help="pipeline: outbox rows per relay batch")
    parser.add_argument(
        "--relay-process",
        action="store_true",
        help="pipeline: the relay in a process of its own (bench.relay_process)",
    )
    parser.add_argument("--consumer-batch", type=int, help="pipeline: events per inbox commit")
    parser.add_argument("--prefetch", type=int, help="pipeline: consumer prefetch")
    parser.add_argument(
        "--waiting", type=int, default=1000, help="queue: tickets waiting while call-next is timed"
    )
    parser.add_argument(
        "--call-rate", type=float, default=25.0, help="queue: call-next cycles per second"
    )
    parser.add_argument(
        "--before",
        metavar="TREE",
        help="queue: also serve the queue service of another checkout, by its own .venv "
        "(e.g. a worktree of branch before-12), in the same run; pipeline: run that "
        "checkout's own pipeline benchmark first",
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1],
        help="queue: this tree's service with these numbers of worker processes, e.g. 1,2",
    )
    parser.add_argument(
        "--relay-apart",
        action="store_true",
        help="queue: also this tree's service with its outbox relay in a process of its own "
        "(QUEUE_OUTBOX_RELAY=separate and `python -m sihha_queue relay`), per --workers",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="queue: rounds of every service (medians)"
    )
    parser.add_argument("--output", default=str(RESULTS), help="where the JSON goes")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 1_000_000:
        parser.error("--n must be in 1..1000000")
    if not 0.5 <= args.seconds <= 600:
        parser.error("--seconds must be in 0.5..600")
    if not 1 <= args.waiting <= 10_000:
        parser.error("--waiting must be in 1..10000")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be in 1..20")
    if not all(1 <= n <= 16 for n in args.workers):
        parser.error("--workers must be numbers in 1..16")
    if not 0 < args.call_rate <= 1000:
        parser.error("--call-rate must be in (0, 1000]")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["faults"]:  # not a benchmark: the fault matrix, with its own options
        from bench.faults import main as fault_matrix

        return fault_matrix(argv[1:])
    args = parse_args(argv)
    configure_logging("bench", level="ERROR")  # the kit's info lines would drown the table
    factory, loop_name = _loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main_async(args, loop_name))


if __name__ == "__main__":
    sys.exit(main())

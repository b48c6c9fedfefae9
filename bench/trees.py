"""Other checkouts of the project, measured beside this one in the same run.

`python -m bench queue --before TREE` serves TREE's queue service (`queue_bench`);
`python -m bench pipeline --before TREE` runs TREE's own `python -m bench pipeline`
(its kit's relay and consumer, against its own raw baseline) just before this tree's.
A tree is a worktree of another branch (e.g. `before-12`, main before issue 12) set up
with its own `.venv` (`bash scripts/setup.sh` there): its code runs with its own
dependencies, never with this tree's.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: where `bench` is importable from: this tree
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceTree:
    """A source tree whose code a benchmark runs, with that tree's own interpreter."""

    label: str
    root: Path
    python: str
    workers: int = 1
    #: where the service's outbox relay runs: in each serving process, or `separate` (a
    #: `python -m sihha_queue relay` process beside them)
    relay: str = "in-process"

    @classmethod
    def this(cls, workers: int = 1, relay: str = "in-process") -> ServiceTree:
        label = "after" if workers == 1 else f"after, {workers} workers"
        if relay == "separate":
            label += ", relay apart"
        return cls(label, ROOT, sys.executable, workers, relay)

    @classmethod
    def other(cls, root: Path, label: str | None = None) -> ServiceTree:
        root = root.resolve()
        python = root / ".venv" / "bin" / "python"
        if not python.exists():
            raise FileNotFoundError(f"{python} is missing: run `bash scripts/setup.sh` in {root}")
        return cls(label or root.name, root, str(python))

    def environment(self) -> dict[str, str]:
        """This process's variables, less those that would make the tree's interpreter use
        this tree's environment (`uv run` sets them)."""
        env = dict(os.environ)
        for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
            env.pop(name, None)
        return env


async def run_in_tree(tree: ServiceTree, *arguments: str, timeout: float = 60.0) -> bytes:
    """`python *arguments` in the tree, by its interpreter → its stdout (raises on failure)."""
    process = await asyncio.create_subprocess_exec(
        tree.python, *arguments, cwd=tree.root, env=tree.environment(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        output, error = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        what = " ".join(arguments[:2]) if arguments[0] == "-m" else "a script"
        tail = error.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{what} in {tree.root} failed: {tail}")
    return output


async def pipeline_in_tree(tree: ServiceTree, n: int) -> dict[str, Any]:
    """The tree's own `python -m bench pipeline --n n` → its JSON report's `raw` and
    `pipeline` sections (each ratio is to the raw rate measured in that run)."""
    with tempfile.TemporaryDirectory(prefix="sihha-bench-tree-") as directory:
        output = Path(directory) / "pipeline.json"
        await run_in_tree(
            tree, "-m", "bench", "pipeline", "--n", str(n), "--output", str(output),
            timeout=600,
        )  # fmt: skip
        report = json.loads(output.read_text())
    if report.get("errors"):
        raise RuntimeError(f"the pipeline of {tree.label} failed: {report['errors']}")
    return {"raw": report["raw"], "pipeline": report["pipeline"]}

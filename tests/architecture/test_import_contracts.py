"""The architecture of docs/architecture.md holds: `lint-imports` checks the import
contracts of pyproject.toml (`[tool.importlinter]`) and this test fails when a change
breaks one. A second test shows each contract catching the break it exists for, on a
small tree of stand-in packages that shadows the real ones."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(
    config: Path, *, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)  # before site-packages: shadows the real packages
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_code_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken." in result.stdout


def _config() -> dict[str, object]:
    config: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"][
        "importlinter"
    ]
    return config


#: stand-in modules, each breaking one contract (empty ones are there to exist)
BREAKS = {
    "sihha_queue/entrypoints/__init__.py": "import sihha_reporting.domain\n",
    "sihha_kit/outbox.py": "import sihha_runner\n",
    "sihha_contracts/__init__.py": "import sihha_kit.outbox\n",
    "sihha_records/adapters/__init__.py": "import aio_pika\n",
    "sihha_emergency/domain/__init__.py": "import sqlalchemy\n",
    "sihha_appointments/domain/__init__.py": "from sihha_appointments import adapters\n",
}


def test_each_contract_catches_what_it_forbids(tmp_path: Path) -> None:
    config = _config()
    packages = tmp_path / "src"
    names = [str(name) for name in config["root_packages"]]  # type: ignore[attr-defined]
    for name in names:
        (packages / name).mkdir(parents=True)
        (packages / name / "__init__.py").write_text("")
    for module in ("app", "auth", "broker", "consumer", "db", "runtime", "uow"):
        (packages / "sihha_kit" / f"{module}.py").write_text("")
    (packages / "sihha_appointments" / "adapters.py").write_text("")
    (packages / "sihha_reporting" / "domain.py").write_text("")
    for path, text in BREAKS.items():
        (packages / path).parent.mkdir(parents=True, exist_ok=True)
        (packages / path).write_text(text)
    broken = tmp_path / "pyproject.toml"
    # the project's contracts as they are, on the stand-ins; the real code's exceptions
    # (ignore_imports) match nothing there and only warn
    broken.write_text((ROOT / "pyproject.toml").read_text("utf-8"))
    result = lint_imports(broken, pythonpath=packages)
    assert result.returncode == 1, result.stdout + result.stderr
    contracts = config["contracts"]
    assert f"Contracts: 0 kept, {len(contracts)} broken." in result.stdout, result.stdout  # type: ignore[arg-type]
    _, _, report = result.stdout.partition("Broken contracts")
    for contract in contracts:  # type: ignore[attr-defined]
        assert f"{contract['name']}\n" in report, contract["name"]

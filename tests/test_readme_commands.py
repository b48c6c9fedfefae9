"""Every command the README shows, and the ones `make run` prints, works when pasted on
a fresh clone after `make setup`: each program exists where the command says (no bare
`uv`: it is not on the PATH), every variable is set before it is used, every setting
is one the service has, every Makefile target exists, and the `sihha-dev` lines run.

The commands are checked for their shape here (fast, no servers); the demo's links and
commands are opened for real by tests/integration/test_demo.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from sihha_runner.launcher import Platform, PlatformConfig, try_it_lines

ROOT = Path(__file__).resolve().parents[1]
#: programs a command may start with besides the repository's own (Debian's)
SYSTEM_PROGRAMS = {"curl", "sleep", "kill", "cat", "date", "make", "until", "do", "done"}
#: each service's settings class, by environment prefix
SETTINGS = {
    "QUEUE_": ("sihha_queue.config", "QueueSettings"),
    "APPOINTMENTS_": ("sihha_appointments.config", "AppointmentsSettings"),
    "REPORTING_": ("sihha_reporting.config", "ReportingSettings"),
}


def readme_blocks() -> list[list[str]]:
    """The README's shell blocks, each as its logical lines (continuations joined)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, flags=re.S)
    return [logical_lines(block) for block in blocks]


def logical_lines(block: str) -> list[str]:
    joined = block.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip()]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.M))


def settings_fields(prefix: str) -> set[str]:
    module, name = SETTINGS[prefix]
    settings = getattr(importlib.import_module(module), name)
    return {field.upper() for field in settings.model_fields}


def words(line: str) -> list[str]:
    """The words of one logical line, without its comment."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def check_block(lines: list[str], problems: list[str]) -> None:
    assigned: set[str] = {"HOME", "PATH"}
    targets = makefile_targets()
    for line in lines:
        # variables used must have been set on an earlier line (or earlier on this one)
        for name in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", line):
            if name not in assigned and not re.search(rf"\b{name}=", line.split("$" + name)[0]):
                problems.append(f"{line!r}: ${name} is used before it is set")
        commands: list[list[str]] = [[]]
        for word in words(line):
            if word in {";", "&", "&&", "|", "||", "(", ")", "$("} or word.endswith("$("):
                commands.append([])
            else:
                commands[-1].append(word)
        for command in filter(None, commands):
            while command and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", command[0]):
                name = command.pop(0).split("=", 1)[0]
                assigned.add(name)
                prefix = next((p for p in SETTINGS if name.startswith(p)), None)
                if prefix and name[len(prefix) :] not in settings_fields(prefix):
                    problems.append(f"{line!r}: {name} is not a setting of the service")
            if not command:
                continue
            program = command[0].lstrip("$(")
            if program in {"uv", "python", "python3", "pytest", "sihha-dev", "sihha-run"}:
                problems.append(f"{line!r}: {program} is not on the PATH of a fresh clone")
            elif program == "make":
                for target in command[1:]:
                    if "=" not in target and target not in targets:
                        problems.append(f"{line!r}: no Makefile target {target!r}")
            elif program.startswith((".tools/", ".venv/")):
                check_repository_program(line, command, problems)
            elif program not in SYSTEM_PROGRAMS:
                problems.append(f"{line!r}: unknown program {program!r}")


def check_repository_program(line: str, command: list[str], problems: list[str]) -> None:
    program = command[0]
    if program == ".tools/bin/uv":
        if command[1:3] != ["run", "--frozen"]:
            problems.append(f"{line!r}: uv without `run --frozen` would change the lock")
        rest = command[3:]
        if rest[:2] == ["python", "-m"] and importlib.util.find_spec(rest[2]) is None:
            problems.append(f"{line!r}: no module {rest[2]}")
    elif not (ROOT / ".venv" / "bin" / Path(program).name).is_file():
        problems.append(f"{line!r}: {program} is not installed by `make setup`")
    elif program.endswith("sihha-dev") and command[1:2] == ["token"]:
        # the token command runs for real: its options are the CLI's
        answer = subprocess.run(
            [str(ROOT / program), *command[1:]], cwd=ROOT, capture_output=True, text=True
        )
        if answer.returncode != 0 or answer.stdout.count(".") != 2:
            problems.append(f"{line!r}: {answer.stderr.strip()[:300]}")


def test_every_readme_command_works_as_pasted() -> None:
    blocks = readme_blocks()
    assert blocks, "no shell block in README.md"
    problems: list[str] = []
    for block in blocks:
        check_block(block, problems)
    assert problems == []


def test_the_readme_ticket_example_sets_its_token_and_avoids_closed_hours() -> None:
    posting = [b for b in readme_blocks() if any("/tickets" in line for line in b)]
    assert posting, "the README shows no ticket example"
    for block in posting:
        text = "\n".join(block)
        assert text.index("TOKEN=") < text.index("$TOKEN")
        # a ticket outside opening hours is refused: the example sets a clock that is
        # inside them, at any hour it is pasted
        assert "QUEUE_CLOCK_START=" in text and "QUEUE_CLOCK_ANCHOR=" in text
        assert "service-closed" in text


@pytest.mark.parametrize("port", [8101, 18101])
def test_make_run_prints_commands_that_work_as_pasted(port: int) -> None:
    config = PlatformConfig(ports={"queue": port})
    lines = [line.strip() for line in try_it_lines(Platform(config))]
    commands = [line for line in lines if line.startswith(("TOKEN=", "curl"))]
    assert len(commands) == 2
    problems: list[str] = []
    check_block(commands, problems)
    assert problems == []
    assert f"127.0.0.1:{port}/establishments/31-PC-001/tickets" in commands[1]
    assert any("service-closed" in line for line in lines)

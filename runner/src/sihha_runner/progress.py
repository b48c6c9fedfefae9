"""The demo's console: progress bars for its phases and notes between them (`rich`).

On a terminal the bars are live and coloured. When the output is not a terminal (a
log, a pipe, a test reading it) rich draws no colours and no live display; the bars
then become one plain line each time one passes a tenth, and lines are not wrapped at
80 columns (`LOG_WIDTH`), so that a link printed in a log still works when pasted.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars
from rich.text import Text

#: the width of lines in a log (no terminal to measure)
LOG_WIDTH = 160


def demo_console() -> Console:
    """The console the demo prints through (stdout)."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=LOG_WIDTH, soft_wrap=True)
    return console


class Progress:
    """Named bars (`update`) and notes printed above them (`note`)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or demo_console()
        self.live = self.console.is_interactive
        self.bars = Bars(
            TextColumn("  {task.description:<9}"),
            BarColumn(bar_width=30),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.tasks: dict[str, TaskID] = {}
        self.done: dict[str, int] = {}
        self.started = False

    def update(self, name: str, done: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bars.add_task(name, total=total)
            if not self.started:
                self.bars.start()
                self.started = True
        self.bars.update(self.tasks[name], completed=done, total=total)
        previous = self.done.get(name, 0)
        self.done[name] = done
        if not self.live and total and (10 * done // total > 10 * previous // total):
            self.console.print(f"  {name:<9} {100 * done // total:3d} %")

    def note(self, text: str) -> None:
        line = Text("  · ", style="cyan")
        line.append(text)
        self.console.print(line)

    def close(self) -> None:
        if self.started:
            self.bars.stop()
            self.started = False

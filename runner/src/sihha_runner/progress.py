"""Progress bars for the demo's phases, on one terminal line each (no dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.bars: dict[str, tuple[int, int]] = {}
        self._last = 0.0
        self._drawn = 0

    def update(self, name: str, done: int, total: int) -> None:
        previous = self.bars.get(name, (0, total))[0]
        self.bars[name] = (done, total)
        if not sys.stdout.isatty():
            # a log, not a screen: one line each time a bar crosses a tenth
            if (total and (10 * done // total) > (10 * previous // total)) or (
                done == total != previous
            ):
                print(self._line(name, done, total), flush=True)
            return
        now = time.monotonic()
        if now - self._last > 0.2 or done >= total:
            self._last = now
            self._draw()

    def note(self, text: str) -> None:
        self._clear()
        print(f"  · {text}", flush=True)
        self._draw()

    def _line(self, name: str, done: int, total: int) -> str:
        filled = int(self.width * done / total) if total else self.width
        return f"  {name:<9} [{'#' * filled}{'.' * (self.width - filled)}] {100 * done // max(total, 1):3d}%"

    def _clear(self) -> None:
        if self._drawn and sys.stdout.isatty():
            sys.stdout.write(f"\x1b[{self._drawn}F\x1b[J")
        self._drawn = 0

    def _draw(self) -> None:
        if not sys.stdout.isatty():
            return
        self._clear()
        for name, (done, total) in self.bars.items():
            print(self._line(name, done, total))
        self._drawn = len(self.bars)
        sys.stdout.flush()

    def close(self) -> None:
        self._drawn = 0

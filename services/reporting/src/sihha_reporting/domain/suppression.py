"""Small-count suppression for the ministry's tables, primary and secondary.

A table has inner cells (rows × columns of counts) and, where they are
published, a total per row (a last column), a total per column (a last row)
and a grand total.

- *Primary*: every count from 1 to 4, totals included, is shown as "<5".
  Zero is shown (it identifies no one).
- *Secondary*: so that no "<5" cell can be recomputed from the totals and the
  other figures, further cells are hidden and shown as "x". They are chosen
  among cells of 5 or more — never a zero: a hidden zero beside a "<5" cell
  gives it away through the sum — in the row or column of the exposed cell,
  inner cells before totals, smallest first.
- *Audit*: the attacker knows every published figure, that "<5" cells lie in
  1..4, that "x" cells are 5 or more, and that rows and columns add up to
  their totals. A "<5" cell is protected when the attacker cannot rule out a
  second value for it. The table is released only when every "<5" cell is
  protected; if no choice of cells achieves it, the whole table is withheld.

How the audit decides, exactly: change the sign of the margin cells (row and
column totals, not the grand total); then every row and every column of the
table with its margins sums to zero, and any way of changing the hidden cells
that keeps all the published relations is a *circulation* on the bipartite
graph rows ↔ columns whose edges are the hidden cells. Between two possible
tables, the difference splits into simple cycles that each move every cell
towards its other value (conformal decomposition of network flows), so a
cell can take another value if and only if one unit can be pushed around a
simple cycle through it without taking any cell out of its bounds — a
breadth-first search. A margin that is not published is modelled as hidden
cells with no bounds at all. `value_range` repeats the push to give each
hidden cell's whole range, for the tests and the documentation.

*Revisions*: what a revision hides must stay hidden against everything sent
for the same period before. A cell that an earlier revision published with
the value it has now is *public* (`Grid.public`): the attacker knows it even
if this revision hides it, so the audit holds it fixed and it is never chosen
as a complement (hiding it would protect nothing).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

SMALL_MIN, SMALL_MAX = 1, 4
PRIMARY_MARK = "<5"
SECONDARY_MARK = "x"
#: a range wider than this is reported as unbounded by `value_range`
RANGE_CAP = 1000

Cell = tuple[int, int]


class Mark(StrEnum):
    SHOWN = "shown"
    PRIMARY = "primary"
    SECONDARY = "secondary"


@dataclass
class Grid:
    """Counts with their margins. `values` always has the total column and the total row
    (index -1); `row_totals` / `column_totals` say whether they are published."""

    inner: list[list[int]]
    row_totals: bool
    column_totals: bool
    #: cells whose present value an earlier revision already published (see the module doc)
    public: frozenset[Cell] = frozenset()
    values: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        if not self.inner or not self.inner[0]:
            raise ValueError("a table needs at least one row and one column")
        width = len(self.inner[0])
        if any(len(row) != width for row in self.inner):
            raise ValueError("every row needs the same number of columns")
        if any(v < 0 for row in self.inner for v in row):
            raise ValueError("counts are never negative")
        grid = [[*row, sum(row)] for row in self.inner]
        grid.append([sum(row[c] for row in grid) for c in range(width + 1)])
        self.values = grid

    @property
    def total_row(self) -> int:
        return len(self.inner)

    @property
    def total_column(self) -> int:
        return len(self.inner[0])

    def published(self, cell: Cell) -> bool:
        """Whether the cell is part of the table as printed (an unpublished margin is not)."""
        r, c = cell
        if r == self.total_row and not self.column_totals:
            return False
        if c == self.total_column and not self.row_totals:
            return False
        return True

    def cells(self) -> list[Cell]:
        return [
            (r, c)
            for r in range(self.total_row + 1)
            for c in range(self.total_column + 1)
            if self.published((r, c))
        ]

    def is_total(self, cell: Cell) -> bool:
        return cell[0] == self.total_row or cell[1] == self.total_column

    def value(self, cell: Cell) -> int:
        return self.values[cell[0]][cell[1]]

    def sign(self, cell: Cell) -> int:
        """+1 for inner cells and the grand total, -1 for the other margin cells."""
        margin_row, margin_column = cell[0] == self.total_row, cell[1] == self.total_column
        return -1 if margin_row != margin_column else 1


@dataclass
class Suppressed:
    grid: Grid
    marks: dict[Cell, Mark]
    withheld: bool = False

    def mark(self, cell: Cell) -> Mark:
        return self.marks.get(cell, Mark.SHOWN)

    def display(self, cell: Cell) -> int | str:
        if self.withheld:
            return SECONDARY_MARK
        mark = self.mark(cell)
        if mark is Mark.PRIMARY:
            return PRIMARY_MARK
        if mark is Mark.SECONDARY:
            return SECONDARY_MARK
        return self.grid.value(cell)


Bounds = tuple[int | None, int | None]


def _bounds(grid: Grid, marks: dict[Cell, Mark], cell: Cell) -> Bounds | None:
    """The attacker's bounds of a cell, None if the cell is published (fixed)."""
    if not grid.published(cell):
        return (None, None)
    if cell in grid.public:
        return None
    mark = marks.get(cell, Mark.SHOWN)
    if mark is Mark.PRIMARY:
        return (SMALL_MIN, SMALL_MAX)
    if mark is Mark.SECONDARY:
        return (SMALL_MAX + 1, None)
    return None


def _fits(value: int, bounds: Bounds) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def _push(
    grid: Grid, marks: dict[Cell, Mark], values: dict[Cell, int], target: Cell, step: int
) -> list[tuple[Cell, int]] | None:
    """A cycle that changes `target` by `step` (+1/-1) and keeps every relation and bound:
    the list of (cell, change), or None if there is none."""
    bounds = {}
    for r in range(grid.total_row + 1):
        for c in range(grid.total_column + 1):
            b = _bounds(grid, marks, (r, c))
            if b is not None:
                bounds[(r, c)] = b
    if target not in bounds or not _fits(values[target] + step, bounds[target]):
        return None
    # in sign-changed terms e = sign·d: raising e on (r, c) goes row r → column c,
    # lowering it goes column c → row r; the target's own edge closes the cycle
    e_step = step * grid.sign(target)
    adjacency: dict[tuple[str, int], list[tuple[tuple[str, int], Cell, int]]] = {}
    for cell, b in bounds.items():
        if cell == target:
            continue
        s = grid.sign(cell)
        r, c = cell
        if _fits(values[cell] + s, b):  # e + 1
            adjacency.setdefault(("r", r), []).append((("c", c), cell, s))
        if _fits(values[cell] - s, b):  # e - 1
            adjacency.setdefault(("c", c), []).append((("r", r), cell, -s))
    r0, c0 = target
    start, goal = (("c", c0), ("r", r0)) if e_step > 0 else (("r", r0), ("c", c0))
    previous: dict[tuple[str, int], tuple[tuple[str, int], Cell, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for nxt, cell, change in adjacency.get(node, ()):
            if nxt not in previous:
                previous[nxt] = (node, cell, change)
                queue.append(nxt)
    if goal not in previous:
        return None
    changes = [(target, step)]
    node = goal
    while (link := previous[node]) is not None:
        node, cell, change = link
        changes.append((cell, change))
    return changes


def _all_values(grid: Grid) -> dict[Cell, int]:
    return {
        (r, c): grid.values[r][c]
        for r in range(grid.total_row + 1)
        for c in range(grid.total_column + 1)
    }


def can_change(grid: Grid, marks: dict[Cell, Mark], cell: Cell) -> bool:
    values = _all_values(grid)
    return any(_push(grid, marks, values, cell, step) is not None for step in (1, -1))


def value_range(grid: Grid, marks: dict[Cell, Mark], cell: Cell) -> tuple[int | None, int | None]:
    """The smallest and largest value the attacker cannot rule out (None: beyond RANGE_CAP)."""
    ends: list[int | None] = []
    for step in (-1, 1):
        values = _all_values(grid)
        moved = 0
        while moved < RANGE_CAP:
            cycle = _push(grid, marks, values, cell, step)
            if cycle is None:
                break
            for x, change in cycle:
                values[x] += change
            moved += 1
        ends.append(None if moved >= RANGE_CAP else values[cell])
    return ends[0], ends[1]


def _first_exposed(grid: Grid, marks: dict[Cell, Mark]) -> Cell | None:
    for cell in sorted(marks):
        if marks[cell] is Mark.PRIMARY and not can_change(grid, marks, cell):
            return cell
    return None


def _lines_of(grid: Grid, cell: Cell) -> list[list[Cell]]:
    r, c = cell
    lines = []
    if grid.row_totals:
        lines.append([(r, k) for k in range(grid.total_column + 1) if grid.published((r, k))])
    if grid.column_totals:
        lines.append([(k, c) for k in range(grid.total_row + 1) if grid.published((k, c))])
    return lines


def _candidates(grid: Grid, marks: dict[Cell, Mark], pool: list[Cell]) -> list[Cell]:
    """Cells that may be hidden as complements: shown, 5 or more; inner cells first, smallest
    first (the least information lost)."""
    unique = {
        x for x in pool if x not in marks and x not in grid.public and grid.value(x) > SMALL_MAX
    }
    return sorted(unique, key=lambda x: (grid.is_total(x), grid.value(x), x))


def _complement(grid: Grid, marks: dict[Cell, Mark], exposed: Cell) -> Cell | None:
    """The cheapest cell whose hiding protects `exposed` on its own; else the cheapest cell
    of its row or column (a cycle needs several), else the cheapest anywhere."""
    everywhere = _candidates(grid, marks, grid.cells())
    for candidate in everywhere:
        if can_change(grid, {**marks, candidate: Mark.SECONDARY}, exposed):
            return candidate
    near = _candidates(grid, marks, [x for line in _lines_of(grid, exposed) for x in line])
    pool = near or everywhere
    return pool[0] if pool else None


def suppress(grid: Grid) -> Suppressed:
    marks: dict[Cell, Mark] = {
        cell: Mark.PRIMARY for cell in grid.cells() if SMALL_MIN <= grid.value(cell) <= SMALL_MAX
    }
    if not marks:
        return Suppressed(grid, marks)
    for _ in range(len(grid.cells())):
        exposed = _first_exposed(grid, marks)
        if exposed is None:
            return Suppressed(grid, marks)
        extra = _complement(grid, marks, exposed)
        if extra is None:
            break
        marks[extra] = Mark.SECONDARY
    return Suppressed(grid, marks, withheld=_first_exposed(grid, marks) is not None)

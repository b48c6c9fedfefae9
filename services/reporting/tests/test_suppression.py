"""Small-count suppression: "<5" cells can never be recomputed from the totals.

Each protected table is checked against brute force: every table of whole numbers that
agrees with what is published (and with "<5" meaning 1..4, "x" meaning 5 or more) is
enumerated, and each "<5" cell must take at least two values among them."""

from __future__ import annotations

import random

import pytest

from sihha_reporting.domain.suppression import (
    PRIMARY_MARK,
    SECONDARY_MARK,
    Grid,
    Mark,
    can_change,
    suppress,
    value_range,
)


def _lines(grid: Grid) -> list[list[tuple[int, int]]]:
    """The published additive relations: the parts, then the total."""
    rows, columns = grid.total_row, grid.total_column
    lines = []
    if grid.row_totals:
        for r in range(rows + (1 if grid.column_totals else 0)):
            lines.append([(r, c) for c in range(columns + 1)])
    if grid.column_totals:
        for c in range(columns + (1 if grid.row_totals else 0)):
            lines.append([(r, c) for r in range(rows + 1)])
    return lines


def possible_values(
    grid: Grid, marks: dict[tuple[int, int], Mark], cap: int | None = None
) -> dict[tuple[int, int], set[int]]:
    """Brute force (with propagation): every assignment of the hidden cells consistent with
    what is published; "<5" cells in 1..4, "x" cells from 5 up to the largest total."""
    cap = cap or max(max(row) for row in grid.values) + 1
    hidden = sorted(marks)
    bounds = {c: (1, 4) if marks[c] is Mark.PRIMARY else (5, cap) for c in hidden}
    lines = _lines(grid)
    seen: dict[tuple[int, int], set[int]] = {c: set() for c in hidden}

    def residual(
        line: list[tuple[int, int]], values: dict[tuple[int, int], int]
    ) -> tuple[list[tuple[tuple[int, int], int]], int]:
        *parts, total = line
        open_cells, known = [], 0
        for cell, sign in [*((p, 1) for p in parts), (total, -1)]:
            if cell in marks and cell not in values:
                open_cells.append((cell, sign))
            else:
                known += sign * (values[cell] if cell in values else grid.value(cell))
        return open_cells, known

    def search(values: dict[tuple[int, int], int]) -> None:
        values = dict(values)
        changed = True
        while changed:
            changed = False
            for line in lines:
                open_cells, known = residual(line, values)
                if not open_cells and known != 0:
                    return
                if len(open_cells) == 1:
                    cell, sign = open_cells[0]
                    value = -known * sign
                    low, high = bounds[cell]
                    if not low <= value <= high:
                        return
                    values[cell] = value
                    changed = True
        free = [c for c in hidden if c not in values]
        if not free:
            for cell in hidden:
                seen[cell].add(values[cell])
            return
        cell = free[0]
        low, high = bounds[cell]
        for value in range(low, high + 1):
            search({**values, cell: value})

    search({})
    return seen


def published(result: object) -> list[list[object]]:
    grid = result.grid  # type: ignore[attr-defined]
    return [
        [result.display((r, c)) for c in range(grid.total_column + 1) if grid.published((r, c))]  # type: ignore[attr-defined]
        for r in range(grid.total_row + 1)
        if grid.published((r, 0))
    ]


def test_a_small_count_that_the_row_total_would_give_away_gets_a_complement() -> None:
    # primary suppression alone: [<5, 10, 12 | 25] → 25 - 10 - 12 = 3
    grid = Grid([[3, 10, 12], [7, 8, 9]], row_totals=True, column_totals=True)
    assert possible_values(grid, {(0, 0): Mark.PRIMARY}) == {(0, 0): {3}}  # the leak
    result = suppress(grid)
    table = published(result)
    assert table[0][0] == PRIMARY_MARK
    assert sum(1 for v in table[0] if v in (PRIMARY_MARK, SECONDARY_MARK)) >= 2  # row 0
    assert sum(1 for row in table if row[0] in (PRIMARY_MARK, SECONDARY_MARK)) >= 2  # column 0
    assert 3 not in [v for row in table for v in row if v == 3 and row is table[0]]
    values = possible_values(grid, result.marks)
    assert len(values[(0, 0)]) >= 2
    assert value_range(grid, result.marks, (0, 0)) == (min(values[(0, 0)]), max(values[(0, 0)]))


def test_a_small_count_that_the_column_total_would_give_away_gets_a_complement() -> None:
    # one column, no row totals: [2, 40, 7 | 49] → 49 - 40 - 7 = 2 without secondary suppression
    grid = Grid([[2], [40], [7]], row_totals=False, column_totals=True)
    assert possible_values(grid, {(0, 0): Mark.PRIMARY}) == {(0, 0): {2}}  # the leak
    result = suppress(grid)
    assert result.display((0, 0)) == PRIMARY_MARK
    assert result.display((2, 0)) == SECONDARY_MARK  # the smallest complement, 7
    assert result.display((1, 0)) == 40
    values = possible_values(grid, result.marks)
    assert values[(0, 0)] == {1, 2, 3, 4}  # x + y = 9 with x in 1..4 and y >= 5


def test_two_small_counts_in_one_row_protect_each_other_only_if_their_sum_does_not_pin_them() -> (
    None
):
    # [1, 1, 30 | 32]: both "<5", but 32 - 30 = 2 = 1 + 1 forces both: needs more hiding
    grid = Grid([[1, 1, 30], [6, 9, 12]], row_totals=True, column_totals=True)
    result = suppress(grid)
    values = possible_values(grid, result.marks)
    for cell, mark in result.marks.items():
        if mark is Mark.PRIMARY:
            assert len(values[cell]) >= 2, (cell, values[cell])


def test_zeros_are_shown_and_never_chosen_as_complements() -> None:
    grid = Grid([[3, 0, 20], [0, 0, 8]], row_totals=True, column_totals=True)
    result = suppress(grid)
    for cell, mark in result.marks.items():
        if mark is Mark.SECONDARY:
            assert grid.value(cell) >= 5
    assert result.display((0, 1)) == 0
    assert all(
        len(v) >= 2
        for c, v in possible_values(grid, result.marks).items()
        if result.marks[c] is Mark.PRIMARY
    )


def test_a_table_that_cannot_be_protected_is_withheld() -> None:
    # the only other cells are zeros: nothing can hide the 3 from its total
    grid = Grid([[3, 0]], row_totals=True, column_totals=False)
    result = suppress(grid)
    assert result.display((0, 2)) in (PRIMARY_MARK, SECONDARY_MARK)  # the total 3 is itself "<5"
    grid = Grid([[3, 0], [0, 6]], row_totals=True, column_totals=True)
    result = suppress(grid)
    assert (
        all(
            len(v) >= 2
            for c, v in possible_values(grid, result.marks).items()
            if result.marks[c] is Mark.PRIMARY
        )
        or result.withheld
    )


def test_tables_without_small_counts_are_published_whole() -> None:
    grid = Grid([[5, 10], [0, 7]], row_totals=True, column_totals=True)
    result = suppress(grid)
    assert not result.marks
    assert result.display((2, 2)) == 22


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_leak_a_small_count(seed: int) -> None:
    rng = random.Random(seed)
    rows, columns = rng.randint(1, 3), rng.randint(1, 3)
    inner = [
        [rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12]) for _ in range(columns)] for _ in range(rows)
    ]
    grid = Grid(inner, row_totals=rng.random() < 0.8, column_totals=rng.random() < 0.8)
    result = suppress(grid)
    if result.withheld:
        return
    hidden_primary = [c for c, m in result.marks.items() if m is Mark.PRIMARY]
    values = possible_values(grid, result.marks)
    for cell in hidden_primary:
        assert len(values[cell]) >= 2, (inner, cell, values[cell])
        low, high = value_range(grid, result.marks, cell)
        assert low is not None and high is not None and low < high


def test_a_value_published_by_an_earlier_revision_is_never_a_complement() -> None:
    """Revision 1 showed 30 and 8; revision 2 has a new 1 beside them. Hiding the 8 (the
    cheapest complement of a fresh table) protects nothing: the reader still has it from
    revision 1. With the earlier values public, the complements are cells whose present
    value was never published, and the 1 cannot be recomputed from both revisions."""
    inner = [[30, 8, 1, 0, 0]]
    fresh = suppress(Grid(inner, row_totals=True, column_totals=True))
    assert fresh.mark((0, 1)) is Mark.SECONDARY  # the 8, as a table without history would
    public = frozenset({(0, 0), (0, 1), (1, 0), (1, 1)})  # 30 and 8, row and wilaya total
    known = Grid(inner, row_totals=True, column_totals=True, public=public)
    small = [cell for cell, mark in fresh.marks.items() if mark is Mark.PRIMARY]
    assert not any(can_change(known, fresh.marks, cell) for cell in small)  # the attack works
    revised = suppress(known)
    assert not revised.withheld
    assert not public & {cell for cell, mark in revised.marks.items() if mark is Mark.SECONDARY}
    assert all(can_change(known, revised.marks, cell) for cell in small)
    assert value_range(known, revised.marks, (0, 2)) == (1, 4)

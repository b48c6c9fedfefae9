"""How a projection says what to write, without writing it.

A projection turns a batch of facts into `Upsert`s: rows keyed by the
projection table's primary key, each column with a `Combine` rule that says
how a new contribution merges into what is already there. Every rule is
commutative and associative (a sum, a minimum, a maximum, an "or", the value
carried by the latest/earliest instant), so the result does not depend on the
order events arrive in: late and out-of-order events, redeliveries after a
crash and a replay of the archive all give the same state.

`FIRST` (keep the first value written) is the one exception and is reserved
for attributes that every event of the key carries identically (the
establishment of a ticket, its service).

The adapters turn an `Upsert` into one multi-row `INSERT ... ON CONFLICT DO
UPDATE` whose SET clauses are these same rules in SQL; rows with the same key
inside one batch are merged here first, with the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Rule(StrEnum):
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    FIRST = "first"
    OR = "or"
    #: the value that comes with the greatest (ref, tiebreak)
    LATEST = "latest"
    #: the value that comes with the smallest (ref, tiebreak)
    EARLIEST = "earliest"


@dataclass(frozen=True)
class Combine:
    rule: Rule
    #: for LATEST/EARLIEST: the instant column that decides, and a tie-breaking column
    ref: str | None = None
    tiebreak: str | None = None

    def __post_init__(self) -> None:
        if self.rule in (Rule.LATEST, Rule.EARLIEST) and (not self.ref or not self.tiebreak):
            raise ValueError(f"{self.rule} needs a ref and a tiebreak column")


SUM = Combine(Rule.SUM)
MIN = Combine(Rule.MIN)
MAX = Combine(Rule.MAX)
FIRST = Combine(Rule.FIRST)
OR = Combine(Rule.OR)


def latest(ref: str, tiebreak: str) -> Combine:
    return Combine(Rule.LATEST, ref, tiebreak)


def earliest(ref: str, tiebreak: str) -> Combine:
    return Combine(Rule.EARLIEST, ref, tiebreak)


def _empty(rule: Rule) -> Any:
    if rule is Rule.SUM:
        return 0
    if rule is Rule.OR:
        return False
    return None


def _wins(new: Any, new_tb: Any, old: Any, old_tb: Any, *, later: bool) -> bool:
    if new is None:
        return False
    if old is None:
        return True
    return (new, new_tb) > (old, old_tb) if later else (new, new_tb) < (old, old_tb)


class _Plan:
    """A combine mapping compiled once: each column's rule, the empty contribution, and the
    LATEST/EARLIEST groups that decide together."""

    __slots__ = ("defaults", "groups", "rules")

    def __init__(self, combine: Mapping[str, Combine]) -> None:
        self.rules = {column: spec.rule for column, spec in combine.items()}
        self.defaults = {column: _empty(spec.rule) for column, spec in combine.items()}
        groups: dict[tuple[Rule, str, str], list[str]] = {}
        for column, spec in combine.items():
            if spec.rule in (Rule.LATEST, Rule.EARLIEST):
                assert spec.ref is not None and spec.tiebreak is not None
                groups.setdefault((spec.rule, spec.ref, spec.tiebreak), []).append(column)
        self.groups = [
            (rule is Rule.LATEST, ref, tb, columns) for (rule, ref, tb), columns in groups.items()
        ]

    def merge(self, old: dict[str, Any], new: Mapping[str, Any]) -> None:
        """Merge the columns `new` gives into `old` (a missing column contributes nothing)."""
        chosen: set[str] = set()
        for later, ref, tb, columns in self.groups:
            # decided on the reference values *before* they are merged
            if ref in new and _wins(new[ref], new.get(tb), old.get(ref), old.get(tb), later=later):
                chosen.update(columns)
        for column in chosen:
            # as in SQL (`CASE WHEN wins THEN excluded.c`): the winner's value, even a missing one
            old[column] = new.get(column)
        rules = self.rules
        for column, b in new.items():
            rule = rules.get(column)
            if rule is None or b is None:
                continue  # a key column, or no contribution
            if rule is Rule.SUM:
                old[column] = (old.get(column) or 0) + b
            elif rule is Rule.MIN:
                a = old.get(column)
                if a is None or b < a:
                    old[column] = b
            elif rule is Rule.MAX:
                a = old.get(column)
                if a is None or b > a:
                    old[column] = b
            elif rule is Rule.FIRST:
                if old.get(column) is None:
                    old[column] = b
            elif rule is Rule.OR:
                old[column] = bool(old.get(column)) or bool(b)


def merge(old: dict[str, Any], new: Mapping[str, Any], combine: Mapping[str, Combine]) -> None:
    """Merge `new` into `old` in place, column by column, with the rules of `combine`."""
    _Plan(combine).merge(old, new)


@dataclass
class Upsert:
    """Rows for one projection table, already merged per key."""

    table: str
    key: tuple[str, ...]
    combine: Mapping[str, Combine]
    rows: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        overlap = set(self.key) & set(self.combine)
        if overlap:
            raise ValueError(f"{self.table}: key columns {overlap} cannot have a rule")
        self._plan = _Plan(self.combine)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key, *self.combine)

    def add(self, **values: Any) -> None:
        """Contribute one row; columns not given contribute nothing (0, False or NULL)."""
        key = tuple([values[column] for column in self.key])
        existing = self.rows.get(key)
        if existing is None:
            row = self._plan.defaults.copy()
            row.update(values)
            self.rows[key] = row
        else:
            self._plan.merge(existing, values)

    def __len__(self) -> int:
        return len(self.rows)


def non_empty(upserts: Iterable[Upsert]) -> list[Upsert]:
    return [upsert for upsert in upserts if upsert.rows]

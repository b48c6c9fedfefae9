"""The unit of work collects the events of every aggregate its repositories tracked."""

from __future__ import annotations

from dataclasses import dataclass

from sihha_kit.domain import Aggregate
from sihha_kit.uow import Repository, SqlUnitOfWork


@dataclass
class _Thing(Aggregate):
    name: str = ""


class _Things(Repository):
    def __init__(self) -> None:
        super().__init__(session=None)  # type: ignore[arg-type]
        self.rows: dict[str, _Thing] = {}

    def get(self, name: str) -> _Thing:
        return self.track(self.rows[name])

    def add(self, thing: _Thing) -> None:
        self.rows[thing.name] = self.track(thing)


def test_a_repository_tracks_what_it_hands_out_and_takes_in_once() -> None:
    things = _Things()
    first = _Thing(name="a")
    things.add(first)
    assert things.get("a") is first
    things.add(_Thing(name="b"))
    assert [thing.name for thing in things.seen] == ["a", "b"]


def test_the_unit_of_work_collects_from_every_repository() -> None:
    class _Uow(SqlUnitOfWork):
        def __init__(self) -> None:
            self.things = _Things()
            self.others = _Things()

    uow = _Uow()
    one, two = _Thing(name="one"), _Thing(name="two")
    uow.things.add(one)
    uow.others.add(two)
    uow.others.add(one)  # the same aggregate through two repositories: collected once
    assert uow.repositories() == [uow.things, uow.others]
    assert uow._tracked() == [one, two]

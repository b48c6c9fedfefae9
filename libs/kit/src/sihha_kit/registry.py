"""The wilaya's registry of establishments, kept by the project as data.

`registry/oran-establishments.yaml` at the repository root is the project's
copy (started from the directorate's reference list); services load it at
start-up and the queue service's admin API edits its own copy in its database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


#: the end of a period that closes at midnight (``24:00``)
END_OF_DAY = time.max


def _clock(text: str, *, end: bool) -> time:
    text = text.strip()
    if end and text in {"24:00", "24:00:00"}:
        return END_OF_DAY
    moment = time.fromisoformat(text)  # ValueError names the text
    if moment.tzinfo is not None or moment.microsecond:
        raise ValueError(f"{text!r}: hours and minutes (and seconds) only")
    return moment


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours in Algiers local time: weekday → [(opens, closes)].

    Written per weekday as ``"HH:MM-HH:MM"`` intervals, as the queue service writes a
    service's hours (`sihha_queue.domain.hours`): an interval may end at ``24:00``
    (kept as `END_OF_DAY`), and one whose end is not after its start runs overnight —
    ``"fri": ["20:00-08:00"]`` is Friday 20:00–24:00 and Saturday 00:00–08:00 here, each
    part on the calendar day it falls on (the registry answers "open at this moment?"
    and "how long open on this day?"; the queue service keeps the night's service day).
    `ValueError` for an unknown weekday or a malformed interval.
    """

    periods: dict[str, tuple[tuple[time, time], ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: dict[str, list[str]]) -> OpeningHours:
        periods: dict[str, list[tuple[time, time]]] = {}
        for day, ranges in data.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            for text in ranges:
                parts = text.split("-")
                if len(parts) != 2:
                    raise ValueError(f"{day} {text!r} is not an interval (HH:MM-HH:MM)")
                opens, closes = _clock(parts[0], end=False), _clock(parts[1], end=True)
                periods.setdefault(day, [])
                if closes > opens:
                    periods[day].append((opens, closes))
                    continue
                # overnight: until midnight, then from midnight on the next day
                periods[day].append((opens, END_OF_DAY))
                if closes != time(0):
                    following = WEEKDAYS[(WEEKDAYS.index(day) + 1) % len(WEEKDAYS)]
                    periods.setdefault(following, []).append((time(0), closes))
        return cls({day: tuple(sorted(ranges)) for day, ranges in periods.items()})

    def is_open(self, local: datetime) -> bool:
        """`local` must be Algiers local time (see `sihha_kit.clock.to_local`)."""
        moment = local.time()
        return any(o <= moment < c for o, c in self.periods.get(WEEKDAYS[local.weekday()], ()))

    def as_dict(self) -> dict[str, list[str]]:
        def clock(moment: time) -> str:
            return "24:00" if moment == END_OF_DAY else f"{moment:%H:%M}"

        return {
            day: [f"{clock(o)}-{clock(c)}" for o, c in ranges]
            for day, ranges in self.periods.items()
        }


@dataclass(frozen=True)
class ServiceKind:
    code: str
    name_fr: str
    name_ar: str


@dataclass(frozen=True)
class Establishment:
    code: str
    kind: str  # EPSP, PC (polyclinic), EPH, EHS, CHU, EHU
    name_fr: str
    name_ar: str
    commune: str
    parent: str | None = None  # the EPSP that runs a polyclinic
    pilot: bool = False
    emergency: bool = False
    opening_hours: OpeningHours | None = None  # None: the registry's default


@dataclass(frozen=True)
class Registry:
    wilaya_code: str
    wilaya_name_fr: str
    wilaya_name_ar: str
    establishments: tuple[Establishment, ...]
    polyclinic_services: tuple[ServiceKind, ...]
    default_opening_hours: OpeningHours = field(default_factory=OpeningHours)

    def hours_of(self, code: str) -> OpeningHours:
        establishment = self.by_code(code)
        if establishment is not None and establishment.opening_hours is not None:
            return establishment.opening_hours
        return self.default_opening_hours

    def by_code(self, code: str) -> Establishment | None:
        return self._by_code.get(code)

    @cached_property
    def _by_code(self) -> dict[str, Establishment]:
        """The establishments by code, built on first use (a search page names the
        establishment of each of its slots: a scan of the registry each was measurable)."""
        found: dict[str, Establishment] = {}
        for establishment in self.establishments:
            found.setdefault(establishment.code, establishment)  # the first, as a scan gave
        return found

    @property
    def polyclinics(self) -> tuple[Establishment, ...]:
        return tuple(e for e in self.establishments if e.kind == "PC")

    @property
    def hospitals(self) -> tuple[Establishment, ...]:
        return tuple(e for e in self.establishments if e.kind in {"EPH", "EHS", "CHU", "EHU"})


def default_registry_path() -> Path:
    """`registry/oran-establishments.yaml`, found from the working directory upwards."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "registry" / "oran-establishments.yaml"
        if candidate.is_file():
            return candidate
    return here / "registry" / "oran-establishments.yaml"


def load_registry(path: Path | None = None) -> Registry:
    data: dict[str, Any] = yaml.safe_load((path or default_registry_path()).read_text("utf-8"))
    wilaya = data["wilaya"]
    establishments: list[Establishment] = []
    for item in data.get("epsp", []):
        establishments.append(
            Establishment(
                item["code"],
                "EPSP",
                item["name_fr"],
                item.get("name_ar", item["name_fr"]),
                item["commune"],
            )
        )
    for item in data.get("polyclinics", []):
        establishments.append(
            Establishment(
                item["code"],
                "PC",
                item["name_fr"],
                item.get("name_ar", item["name_fr"]),
                item["commune"],
                parent=item.get("epsp"),
                pilot=bool(item.get("pilot")),
                opening_hours=_hours(item),
            )
        )
    for item in data.get("hospitals", []):
        establishments.append(
            Establishment(
                item["code"],
                item["kind"],
                item["name_fr"],
                item.get("name_ar", item["name_fr"]),
                item["commune"],
                emergency=bool(item.get("emergency")),
                opening_hours=_hours(item),
            )
        )
    services = tuple(
        ServiceKind(s["code"], s["name_fr"], s["name_ar"])
        for s in data.get("polyclinic_services", [])
    )
    return Registry(
        str(wilaya["code"]),
        wilaya["name_fr"],
        wilaya["name_ar"],
        tuple(establishments),
        services,
        OpeningHours.parse(data.get("default_opening_hours", {})),
    )


def _hours(item: dict[str, Any]) -> OpeningHours | None:
    hours = item.get("opening_hours")
    return OpeningHours.parse(hours) if hours else None

"""Building the reports' figures from the projections.

`wilaya_report` and `ministry_report` return plain JSON-able dicts: the
*content* of a report (what a revision stores and hashes). Everything in it is
a function of the data and the period alone — "now" enters only for a period
still running — so that reading a closed period twice gives the same content,
and late data gives a different one (a new revision).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sihha_kit.clock import ALGIERS, local_day, to_local
from sihha_kit.i18n import N_
from sihha_kit.registry import Establishment, Registry
from sihha_reporting.adapters.report_queries import ReportQueries
from sihha_reporting.domain import rollout as rules
from sihha_reporting.domain.definitions import METRICS, definitions
from sihha_reporting.domain.periods import Period, PeriodKind
from sihha_reporting.domain.suppression import Grid, suppress
from sihha_reporting.domain.texts import labelled

#: kinds of establishment that operate systems themselves (an EPSP is an administration)
REPORTED_KINDS = ("PC", "EPH", "EHS", "CHU", "EHU")
HOSPITAL_KINDS = ("EPH", "EHS", "CHU", "EHU")
#: the catalogue key of each kind's name (in the plural: a ministry table's rows)
KIND_LABELS = {
    "PC": N_("kind.pc"),
    "EPH": N_("kind.eph"),
    "EHS": N_("kind.ehs"),
    "CHU": N_("kind.chu"),
    "EHU": N_("kind.ehu"),
    "other": N_("kind.other"),
}
#: statistics computed from fewer observations than this are not shown
MIN_OBSERVATIONS = 5


@dataclass(frozen=True)
class RolloutRules:
    silent_after_hours: float
    min_heartbeats: int


def wilaya_kind(period: Period) -> str:
    return f"wilaya_{period.kind.value}"


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 60.0, 1)


def _round(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else to_local(instant).isoformat(timespec="seconds")


def evaluation_instant(period: Period, now: datetime) -> datetime:
    """The end of the period (midnight after its last day, Algiers), or now if sooner."""
    end = datetime.combine(period.end + timedelta(days=1), time(0, 0), ALGIERS).astimezone(UTC)
    return min(end, now)


def establishments(registry: Registry) -> list[Establishment]:
    return [e for e in registry.establishments if e.kind in REPORTED_KINDS]


def _establishment(e: Establishment) -> dict[str, Any]:
    return {
        "facility_id": e.code,
        "name_fr": e.name_fr,
        "name_ar": e.name_ar,
        "kind": e.kind,
        "commune": e.commune,
    }


# -- rollout ---------------------------------------------------------------------------


async def rollout_section(
    queries: ReportQueries,
    registry: Registry,
    period: Period,
    *,
    now: datetime,
    rules_: RolloutRules,
    only: set[str] | None = None,
) -> dict[str, Any]:
    today = local_day(now)
    inspections_rows = await queries.inspections()
    by_facility: dict[str, list[rules.Inspection]] = defaultdict(list)
    for row in inspections_rows:
        by_facility[row["facility_id"]].append(
            rules.Inspection(row["visited_on"], row["equipped"], row["system_in_use"])
        )
    earliest = min([period.start, *(r["visited_on"] for r in inspections_rows)])
    presence_rows = await queries.presence(earliest - timedelta(days=14), period.end)
    presence: dict[str, dict[date, rules.DayPresence]] = defaultdict(dict)
    for row in presence_rows:
        presence[row["facility_id"]][row["day"]] = rules.DayPresence(
            int(row["events_open"]), int(row["heartbeats_open"])
        )
    milestones = {row["facility_id"]: row for row in await queries.milestones()}
    rows = []
    series_operating = [0] * len(period.days)
    series_equipped = [0] * len(period.days)
    for e in establishments(registry):
        if only is not None and e.code not in only:
            continue
        hours = registry.hours_of(e.code)
        milestone = milestones.get(e.code, {})
        first_use = rules.day_of(milestone.get("first_use_at"))
        first_event = rules.day_of(milestone.get("first_event_at"))
        facility_presence = presence.get(e.code, {})
        inspections = by_facility.get(e.code, [])

        def operating(
            day: date,
            *,
            first_use: date | None = first_use,
            hours: Any = hours,
            facility_presence: Any = facility_presence,
        ) -> bool:
            return rules.operating_on(
                day,
                hours=hours,
                first_use=first_use,
                presence=facility_presence,
                today=today,
                min_heartbeats=rules_.min_heartbeats,
            )

        operating_days = [operating(day) for day in period.days]
        for index, day in enumerate(period.days):
            series_operating[index] += operating_days[index]
            series_equipped[index] += rules.equipped_on(inspections, day)
        latest = rules.latest_inspection(inspections, period.end)
        equipped = latest is not None and latest.equipped
        disagreement = rules.disagreement(
            latest,
            operating_that_day=operating(latest.visited_on) if latest else False,
            first_event=first_event,
        )
        operating_since = next(
            (day for day, on in zip(period.days, operating_days, strict=True) if on), None
        )
        rows.append(
            {
                **_establishment(e),
                "stage": rules.stage(equipped, operating_days[-1]).value,
                "equipped": equipped,
                "operating": operating_days[-1],
                "operating_days": sum(operating_days),
                "first_operating_day_in_period": operating_since.isoformat()
                if operating_since
                else None,
                "inspection": None
                if latest is None
                else {
                    "visited_on": latest.visited_on.isoformat(),
                    "equipped": latest.equipped,
                    "system_in_use": latest.system_in_use,
                },
                "first_use_on": first_use.isoformat() if first_use else None,
                "disagreement": disagreement.value if disagreement else None,
            }
        )
    summary = {
        "registered": len(rows),
        "equipped": sum(1 for r in rows if r["equipped"]),
        "operating": sum(1 for r in rows if r["operating"]),
        "disagreements": sum(1 for r in rows if r["disagreement"]),
    }
    return {
        "definitions": [
            METRICS[m].ref
            for m in (
                "establishments_registered",
                "establishments_equipped",
                "establishments_operating",
            )
        ],
        "summary": summary,
        "series": [
            {"day": day.isoformat(), "equipped": eq, "operating": op}
            for day, eq, op in zip(period.days, series_equipped, series_operating, strict=True)
        ],
        "establishments": rows,
    }


# -- the wilaya report -----------------------------------------------------------------


async def wilaya_report(
    session: AsyncSession,
    registry: Registry,
    period: Period,
    *,
    now: datetime,
    rules_: RolloutRules,
    facility_id: str | None = None,
) -> dict[str, Any]:
    queries = ReportQueries(session)
    only = {facility_id} if facility_id else None
    at = evaluation_instant(period, now)
    names = {e.code: e for e in registry.establishments}

    def keep(code: str) -> bool:
        return only is None or code in only

    def label(code: str) -> dict[str, Any]:
        e = names.get(code)
        return {
            "facility_id": code,
            "name_fr": e.name_fr if e else code,
            "name_ar": e.name_ar if e else code,
            "kind": e.kind if e else "other",
        }

    rollout = await rollout_section(queries, registry, period, now=now, rules_=rules_, only=only)

    # activity per establishment and per establishment × service
    by_service = [
        r
        for r in await queries.polyclinic_by_service(period.start, period.end)
        if keep(r["facility_id"])
    ]
    called: defaultdict[tuple[str, str], int] = defaultdict(int)
    for row in await queries.tickets_called(period.start, period.end):
        called[(row["facility_id"], row["service_code"])] += int(row["tickets_called"])
    waits_service = {
        (r["facility_id"], r["service_code"]): r
        for r in await queries.waits(period.start, period.end)
    }
    waits_facility = {
        r["facility_id"]: r for r in await queries.waits(period.start, period.end, "facility")
    }
    hours = defaultdict(list)
    for row in await queries.busiest_hours(period.start, period.end):
        hours[row["facility_id"]].append((int(row["tickets_issued"]), int(row["hour"])))
    counts = ("tickets_issued", "calls", "no_shows", "cancelled", "routed", "visits_completed")
    facilities: dict[str, dict[str, Any]] = {}
    services = []
    for row in by_service:
        code, service = row["facility_id"], row["service_code"]
        wait = waits_service.get((code, service), {})
        services.append(
            {
                "facility_id": code,
                "service_code": service,
                **{name: int(row[name]) for name in counts},
                "tickets_called": called.get((code, service), 0),
                **_wait_figures(wait),
            }
        )
        total = facilities.setdefault(
            code, {**label(code), **dict.fromkeys(counts, 0), "tickets_called": 0}
        )
        for name in counts:
            total[name] += int(row[name])
        total["tickets_called"] += called.get((code, service), 0)
    for code, total in facilities.items():
        total.update(_wait_figures(waits_facility.get(code, {})))
        ranked = sorted(hours.get(code, []), reverse=True)
        total["busiest_hours"] = [
            {"hour": f"{hour:02d}:00", "tickets_issued": n} for n, hour in ranked[:3] if n > 0
        ]
    activity = {
        "definitions": [
            METRICS[m].ref
            for m in (
                "tickets_issued",
                "tickets_called",
                "calls",
                "visits_completed",
                "no_shows",
                "cancelled",
                "routed",
                "wait_time",
                "service_time",
                "busiest_hour",
            )
        ],
        "totals": {
            name: sum(f[name] for f in facilities.values()) for name in (*counts, "tickets_called")
        },
        "establishments": [facilities[k] for k in sorted(facilities)],
        "services": services,
    }

    emergency = [
        {**label(r["facility_id"]), **_emergency_figures(r)}
        for r in await queries.emergency_by_facility(period.start, period.end)
        if keep(r["facility_id"])
    ]
    appointments = [
        {
            **label(r["facility_id"]),
            **{
                k: int(r.get(k) or 0)
                for k in ("booked", "attended", "no_shows", "cancelled", "rescheduled")
            },
            "lead_time_days_median": _stat(r.get("lead_median"), r.get("leads")),
            "lead_time_days_p90": _stat(r.get("lead_p90"), r.get("leads")),
        }
        for r in await queries.appointments_by_facility(period.start, period.end)
        if keep(r["facility_id"])
    ]
    records = [
        {**label(r["facility_id"]), **{k: int(v) for k, v in r.items() if k != "facility_id"}}
        for r in await queries.records_by_facility(period.start, period.end)
        if keep(r["facility_id"])
    ]
    prescriptions = [
        _prescription_row(label(r["facility_id"]), r)
        for r in await queries.prescriptions_by_facility(period.start, period.end)
        if keep(r["facility_id"])
    ]
    top_substances = (
        [
            {k: (int(v) if k != "substance" else v) for k, v in r.items()}
            for r in await queries.top_substances(period.start, period.end)
        ]
        if facility_id is None
        else []
    )

    # silence, completeness and freshness, as of the end of the period (or now)
    last_events = {r["facility_id"]: r for r in await queries.last_events_until(period.end)}
    reporting = {
        r["facility_id"]: r
        for r in await queries.reporting_establishments(period.start, period.end)
    }
    expected, silent, freshness = [], [], []
    for row in rollout["establishments"]:
        code = row["facility_id"]
        first_use = row["first_use_on"]
        watched = row["equipped"] or (first_use is not None)
        last = last_events.get(code, {})
        if row["equipped"] or first_use is not None:
            expected.append(code)
        hours_of = registry.hours_of(code)
        if watched:
            since_candidates = []
            if row["inspection"] and row["equipped"]:
                since_candidates.append(
                    datetime.combine(
                        date.fromisoformat(row["inspection"]["visited_on"]), time(0), ALGIERS
                    )
                )
            if first_use is not None:
                since_candidates.append(
                    datetime.combine(date.fromisoformat(first_use), time(0), ALGIERS)
                )
            silent_hours = rules.silent_open_hours(
                hours_of,
                last_open_event_at=last.get("last_open_event_at"),
                watched_since=min(since_candidates) if since_candidates else None,
                at=at,
            )
            if silent_hours is not None and silent_hours >= rules_.silent_after_hours:
                silent.append(
                    {
                        **label(code),
                        "silent_opening_hours": round(silent_hours, 1),
                        "last_event_in_opening_hours": _iso(last.get("last_open_event_at")),
                        "last_event": _iso(last.get("last_event_at")),
                    }
                )
        if last.get("last_event_at") is not None or watched:
            last_at = last.get("last_event_at")
            freshness.append(
                {
                    **label(code),
                    "last_event": _iso(last_at),
                    "hours_since_last_event": None
                    if last_at is None
                    else round(max(0.0, (at - last_at).total_seconds()) / 3600.0, 1),
                }
            )
    missing = [code for code in expected if code not in reporting]
    completeness = {
        "definition": METRICS["completeness"].ref,
        "expected": len(expected),
        "reporting": len(expected) - len(missing),
        "ratio": round((len(expected) - len(missing)) / len(expected), 3) if expected else None,
        "missing": [label(code) for code in missing],
        "unregistered_sources": sorted(code for code in reporting if code not in names),
    }
    return {
        "kind": wilaya_kind(period),
        "period": _period(period),
        "wilaya": _wilaya(registry),
        "scope": label(facility_id) if facility_id else None,
        "evaluated_at": _iso(at),
        "rollout": rollout,
        "activity": activity,
        "emergency": emergency,
        "appointments": appointments,
        "records": records,
        "prescriptions": prescriptions,
        "prescription_top_substances": top_substances,
        "silent": {
            "definition": METRICS["silent"].ref,
            "threshold_hours": rules_.silent_after_hours,
            "establishments": silent,
        },
        "completeness": completeness,
        "freshness": {"definition": METRICS["freshness"].ref, "establishments": freshness},
        "events": [
            {**row, "events": int(row["events"])}
            for row in await queries.event_counts(period.start, period.end)
        ]
        if only is None
        else [],
        "definitions": definitions(),
    }


def _period(period: Period) -> dict[str, Any]:
    return {
        "kind": period.kind.value,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "key": period.key,
        **labelled(period.label()),
    }


def _wilaya(registry: Registry) -> dict[str, str]:
    return {
        "code": registry.wilaya_code,
        "name_fr": registry.wilaya_name_fr,
        "name_ar": registry.wilaya_name_ar,
    }


def _stat(value: Any, observations: Any) -> float | None:
    if value is None or observations is None or int(observations) < MIN_OBSERVATIONS:
        return None
    return round(float(value), 1)


def _wait_figures(row: dict[str, Any]) -> dict[str, Any]:
    waits, services = row.get("waits") or 0, row.get("services") or 0
    return {
        "waits_measured": int(waits),
        "wait_minutes_median": _stat(_minutes(row.get("wait_median")), waits),
        "wait_minutes_p90": _stat(_minutes(row.get("wait_p90")), waits),
        "services_measured": int(services),
        "service_minutes_median": _stat(_minutes(row.get("service_median")), services),
        "service_minutes_p90": _stat(_minutes(row.get("service_p90")), services),
    }


EMERGENCY_TRIAGE = ("triage_1", "triage_2", "triage_3", "triage_4", "triage_5", "not_triaged")
EMERGENCY_DISPOSITIONS = (
    "discharged",
    "admitted",
    "transferred",
    "left_without_being_seen",
    "left_against_advice",
    "deceased",
    "no_disposition",
)


def _emergency_figures(row: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {
        k: int(row[k]) for k in ("arrivals", *EMERGENCY_TRIAGE, *EMERGENCY_DISPOSITIONS)
    }
    figures.update(
        door_to_doctor_minutes_median=_stat(row.get("door_to_doctor_median"), row.get("seen")),
        door_to_doctor_minutes_p90=_stat(row.get("door_to_doctor_p90"), row.get("seen")),
        length_of_stay_minutes_median=_stat(row.get("stay_median"), row.get("stays")),
        length_of_stay_minutes_p90=_stat(row.get("stay_p90"), row.get("stays")),
    )
    return figures


# -- the ministry report ---------------------------------------------------------------


def _prescription_row(labelled: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A establishment's prescriptions, with the share fully dispensed and the share signed
    with a warning overridden (of those issued; None when none was issued)."""
    counts = {k: int(v or 0) for k, v in row.items() if k != "facility_id"}
    issued = counts.get("issued", 0)
    return {
        **labelled,
        **counts,
        "share_fully_dispensed": round(counts.get("fully_dispensed", 0) / issued, 3)
        if issued
        else None,
        "share_overridden": round(counts.get("issued_with_override", 0) / issued, 3)
        if issued
        else None,
    }


def _column(
    key: str, label: str | dict[str, str], definition: str, **params: Any
) -> dict[str, str]:
    """A column of a ministry table: `label` is a catalogue key (its brace fields from
    `params`) or a name already in both languages (``{"label_fr": …, "label_ar": …}``)."""
    labels = label if isinstance(label, dict) else labelled(label, **params)
    return {"key": key, **labels, "definition": METRICS[definition].ref}


def _kind_rows(wilaya: str, kinds: list[str]) -> list[dict[str, Any]]:
    """A ministry table's rows: one per kind of establishment, then the wilaya's total."""
    return [{"key": f"{wilaya}:{kind}", **labelled(KIND_LABELS[kind])} for kind in kinds] + [
        {"key": wilaya, **labelled(N_("ministry.row.wilaya_total")), "total": True}
    ]


def _table(
    table_id: str,
    title: str,
    wilaya: str,
    kinds: Iterable[str],
    columns: list[dict[str, str]],
    values: dict[str, dict[str, int]],
    *,
    row_totals: bool,
    suppressed: bool = True,
) -> dict[str, Any]:
    kinds = list(kinds)
    inner = [[int(values.get(kind, {}).get(c["key"], 0)) for c in columns] for kind in kinds]
    grid = Grid(inner, row_totals=row_totals, column_totals=True)
    result = suppress(grid) if suppressed else None
    rows = _kind_rows(wilaya, kinds)
    all_columns = columns + (
        [
            {
                "key": "total",
                **labelled(N_("ministry.column.total")),
                "definition": columns[0]["definition"],
            }
        ]
        if row_totals
        else []
    )
    cells = []
    for r in range(grid.total_row + 1):
        line = []
        for c in range(len(all_columns)):
            cell = (r, c)
            line.append(result.display(cell) if result is not None else grid.value(cell))
        cells.append(line)
    marks = result.marks.values() if result is not None else []
    return {
        "id": table_id,
        **labelled(title, prefix="title"),
        "rows": rows,
        "columns": all_columns,
        "cells": cells,
        "suppression": None
        if result is None
        else {
            "primary": sum(1 for m in marks if m.value == "primary"),
            "secondary": sum(1 for m in marks if m.value == "secondary"),
            "withheld": result.withheld,
        },
    }


def _stats_table(
    table_id: str,
    title: str,
    wilaya: str,
    kinds: Iterable[str],
    columns: list[tuple[str, str, str, str]],
    values: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Medians and 90th percentiles per kind, withheld ("—") under 5 observations;
    `columns` are (key, key of its observation count, catalogue key of its label, metric)."""
    kinds = list(kinds)
    out_columns, cells = [], []
    for key, count_key, label, definition in columns:
        out_columns.append(
            {
                "key": key,
                "observations": count_key,
                **labelled(label),
                "definition": METRICS[definition].ref,
            }
        )
    for kind in [*kinds, "__wilaya__"]:
        line: list[Any] = []
        for key, count_key, *_ in columns:
            figures = values.get(kind, {})
            n = int(figures.get(count_key) or 0)
            value = figures.get(key)
            # observation counts are not published: they add up to the wilaya's and would
            # give small counts away; a statistic is shown only from 5 observations
            if n < MIN_OBSERVATIONS or value is None:
                line.append("—")
            else:
                line.append(round(float(value), 1))
        cells.append(line)
    rows = _kind_rows(wilaya, kinds)
    return {
        "id": table_id,
        **labelled(title, prefix="title"),
        "rows": rows,
        "columns": out_columns,
        "cells": cells,
        "statistics": True,
    }


def _by_kind(
    rows: Iterable[dict[str, Any]], kinds: dict[str, str], keys: Iterable[str]
) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    keys = list(keys)
    for row in rows:
        kind = kinds.get(row["facility_id"], "other")
        for key in keys:
            totals[kind][key] += int(row.get(key) or 0)
    return totals


async def ministry_report(
    session: AsyncSession,
    registry: Registry,
    period: Period,
    *,
    now: datetime,
    rules_: RolloutRules,
) -> dict[str, Any]:
    queries = ReportQueries(session)
    wilaya = registry.wilaya_code
    kinds = {e.code: e.kind for e in establishments(registry)}
    present = [k for k in REPORTED_KINDS if k in set(kinds.values())]
    hospitals = [k for k in HOSPITAL_KINDS if k in present]
    polyclinics = [k for k in ("PC",) if k in present]
    rollout = await rollout_section(queries, registry, period, now=now, rules_=rules_)
    rollout_values: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rollout["establishments"]:
        figures = rollout_values[row["kind"]]
        figures["registered"] += 1
        figures["equipped"] += int(row["equipped"])
        figures["operating"] += int(row["operating"])
    tables = [
        _table(
            "rollout",
            N_("ministry.rollout.title"),
            wilaya,
            present,
            [
                _column(
                    "registered", N_("ministry.column.registered"), "establishments_registered"
                ),
                _column("equipped", N_("ministry.column.equipped"), "establishments_equipped"),
                _column("operating", N_("ministry.column.operating"), "establishments_operating"),
            ],
            rollout_values,
            row_totals=False,
            suppressed=False,  # counts of establishments, public facts, not of people
        )
    ]
    service_codes = [s.code for s in registry.polyclinic_services]
    by_service = await queries.polyclinic_by_service(period.start, period.end)
    issued: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in by_service:
        code = row["service_code"] if row["service_code"] in service_codes else "other"
        issued[kinds.get(row["facility_id"], "other")][code] += int(row["tickets_issued"])
    service_columns = [
        _column(s.code, {"label_fr": s.name_fr, "label_ar": s.name_ar}, "tickets_issued")
        for s in registry.polyclinic_services
    ] + [_column("other", N_("ministry.column.other_services"), "tickets_issued")]
    tables.append(
        _table(
            "polyclinic_tickets_by_service",
            N_("ministry.polyclinic_tickets_by_service.title"),
            wilaya,
            polyclinics,
            service_columns,
            issued,
            row_totals=True,
        )
    )
    outcomes = _by_kind(by_service, kinds, ("visits_completed", "no_shows", "cancelled", "routed"))
    tables.append(
        _table(
            "polyclinic_outcomes",
            N_("ministry.polyclinic_outcomes.title"),
            wilaya,
            polyclinics,
            [
                _column(
                    "visits_completed", N_("ministry.column.visits_completed"), "visits_completed"
                ),
                _column("no_shows", N_("ministry.column.no_shows"), "no_shows"),
                _column("cancelled", N_("ministry.column.cancelled"), "cancelled"),
                _column("routed", N_("ministry.column.routed"), "routed"),
            ],
            outcomes,
            row_totals=False,
        )
    )
    wait_values: dict[str, dict[str, Any]] = {}
    for row in await queries.waits_by_kind(period.start, period.end, kinds):
        wait_values[row["kind"]] = {
            "wait_median": _minutes(row["wait_median"]),
            "wait_p90": _minutes(row["wait_p90"]),
            "waits": row["waits"],
            "service_median": _minutes(row["service_median"]),
            "service_p90": _minutes(row["service_p90"]),
            "services": row["services"],
        }
    tables.append(
        _stats_table(
            "polyclinic_times",
            N_("ministry.polyclinic_times.title"),
            wilaya,
            polyclinics,
            [
                ("wait_median", "waits", N_("ministry.column.wait_median"), "wait_time"),
                ("wait_p90", "waits", N_("ministry.column.wait_p90"), "wait_time"),
                (
                    "service_median",
                    "services",
                    N_("ministry.column.service_median"),
                    "service_time",
                ),
                ("service_p90", "services", N_("ministry.column.service_p90"), "service_time"),
            ],
            wait_values,
        )
    )
    emergency_rows = await queries.emergency_counts_by_facility(period.start, period.end)
    er_times: dict[str, dict[str, Any]] = {
        row["kind"]: row
        for row in await queries.emergency_times_by_kind(period.start, period.end, kinds)
    }
    tables.append(
        _stats_table(
            "emergency_times",
            N_("ministry.emergency_times.title"),
            wilaya,
            hospitals,
            [
                (
                    "door_to_doctor_median",
                    "seen",
                    N_("ministry.column.door_to_doctor_median"),
                    "door_to_doctor",
                ),
                (
                    "door_to_doctor_p90",
                    "seen",
                    N_("ministry.column.door_to_doctor_p90"),
                    "door_to_doctor",
                ),
                ("stay_median", "stays", N_("ministry.column.stay_median"), "er_length_of_stay"),
                ("stay_p90", "stays", N_("ministry.column.stay_p90"), "er_length_of_stay"),
            ],
            er_times,
        )
    )
    tables.append(
        _table(
            "emergency_triage",
            N_("ministry.emergency_triage.title"),
            wilaya,
            hospitals,
            [
                _column(
                    f"triage_{level}", N_("ministry.column.triage_level"), "er_triage", level=level
                )
                for level in range(1, 6)
            ]
            + [_column("not_triaged", N_("ministry.column.not_triaged"), "er_triage")],
            _by_kind(emergency_rows, kinds, EMERGENCY_TRIAGE),
            row_totals=True,
        )
    )
    disposition_labels = {
        "discharged": N_("disposition.discharged"),
        "admitted": N_("disposition.admitted"),
        "transferred": N_("disposition.transferred"),
        "left_without_being_seen": N_("disposition.left_without_being_seen"),
        "left_against_advice": N_("disposition.left_against_advice"),
        "deceased": N_("disposition.deceased"),
        "no_disposition": N_("disposition.no_disposition"),
    }
    tables.append(
        _table(
            "emergency_disposition",
            N_("ministry.emergency_disposition.title"),
            wilaya,
            hospitals,
            [_column(k, disposition_labels[k], "er_disposition") for k in EMERGENCY_DISPOSITIONS],
            _by_kind(emergency_rows, kinds, EMERGENCY_DISPOSITIONS),
            row_totals=True,
        )
    )
    appointment_rows = await queries.appointments_by_facility(period.start, period.end)
    tables.append(
        _table(
            "appointments",
            N_("ministry.appointments.title"),
            wilaya,
            polyclinics,
            [
                _column("booked", N_("ministry.column.booked"), "appointments_booked"),
                _column("attended", N_("ministry.column.attended"), "appointments_attended"),
                _column(
                    "no_shows", N_("ministry.column.appointments_missed"), "appointments_no_show"
                ),
                _column(
                    "cancelled",
                    N_("ministry.column.appointments_cancelled"),
                    "appointments_cancelled",
                ),
            ],
            _by_kind(appointment_rows, kinds, ("booked", "attended", "no_shows", "cancelled")),
            row_totals=False,
        )
    )
    record_rows = await queries.records_by_facility(period.start, period.end)
    tables.append(
        _table(
            "records_encounters",
            N_("ministry.records_encounters.title"),
            wilaya,
            hospitals,
            [
                _column(
                    "inpatient_opened", N_("ministry.column.inpatient_opened"), "encounters_opened"
                ),
                _column(
                    "outpatient_opened",
                    N_("ministry.column.outpatient_opened"),
                    "encounters_opened",
                ),
                _column(
                    "emergency_opened", N_("ministry.column.emergency_opened"), "encounters_opened"
                ),
            ],
            _by_kind(
                record_rows, kinds, ("inpatient_opened", "outpatient_opened", "emergency_opened")
            ),
            row_totals=True,
        )
    )
    tables.append(
        _table(
            "records_closed",
            N_("ministry.records_closed.title"),
            wilaya,
            hospitals,
            [
                _column(
                    "encounters_closed",
                    N_("ministry.column.encounters_closed"),
                    "encounters_closed",
                ),
                _column("deaths", N_("ministry.column.deaths"), "encounters_closed"),
                _column("diagnoses", N_("ministry.column.diagnoses"), "diagnoses"),
            ],
            _by_kind(record_rows, kinds, ("encounters_closed", "deaths", "diagnoses")),
            row_totals=False,
        )
    )
    prescription_rows = await queries.prescriptions_by_facility(period.start, period.end)
    tables.append(
        _table(
            "prescriptions",
            N_("ministry.prescriptions.title"),
            wilaya,
            polyclinics,
            [
                _column("issued", N_("ministry.column.prescriptions_issued"), "prescriptions"),
                _column("lines_issued", N_("ministry.column.lines_issued"), "prescriptions"),
                _column("dispensed", N_("ministry.column.dispensed"), "prescriptions"),
                _column("fully_dispensed", N_("ministry.column.fully_dispensed"), "prescriptions"),
                _column(
                    "cancelled", N_("ministry.column.prescriptions_cancelled"), "prescriptions"
                ),
                _column(
                    "issued_with_override",
                    N_("ministry.column.issued_with_override"),
                    "prescriptions",
                ),
            ],
            _by_kind(
                prescription_rows,
                kinds,
                (
                    "issued",
                    "lines_issued",
                    "dispensed",
                    "fully_dispensed",
                    "cancelled",
                    "issued_with_override",
                ),
            ),
            row_totals=False,
        )
    )
    used = sorted({c["definition"].split("@")[0] for table in tables for c in table["columns"]})
    return {
        "kind": "ministry_monthly",
        "period": _period(period),
        "wilaya": _wilaya(registry),
        "suppression": labelled(N_("ministry.suppression.rule"), prefix="rule"),
        "tables": tables,
        "definitions": definitions(used),
    }


def period_is_standard(period: Period) -> bool:
    return period.kind is not PeriodKind.CUSTOM

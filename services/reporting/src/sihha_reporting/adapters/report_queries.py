"""Read queries of the reports: every one reads projections (never the archive's rows),
so that a report's cost depends on the period and the number of establishments, not on
how many events the archive holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_reporting.adapters.tables import report_revisions

Row = dict[str, Any]

_WAIT = "COALESCE(EXTRACT(EPOCH FROM (first_called_at - arrived_at)), reported_wait_seconds)"
_LOCAL_CALL_DAY = "(first_called_at AT TIME ZONE 'Africa/Algiers')::date"


class ReportQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, **params: Any) -> list[Row]:
        result = await self.session.execute(text(sql), params)
        return [dict(row._mapping) for row in result]

    # -- what was published before ----------------------------------------------------

    async def published_contents(self, kind: str, start: date, end: date) -> list[dict[str, Any]]:
        """The contents of every published revision of a report, oldest first."""
        result = await self.session.execute(
            select(report_revisions.c.content)
            .where(
                report_revisions.c.report_kind == kind,
                report_revisions.c.period_start == start,
                report_revisions.c.period_end == end,
            )
            .order_by(report_revisions.c.revision)
        )
        return [dict(content) for content in result.scalars()]

    # -- rollout and presence ---------------------------------------------------------

    async def presence(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, day, events, events_open, heartbeats, heartbeats_open, "
            "first_event_at, last_event_at, last_open_event_at "
            "FROM facility_daily_presence WHERE day BETWEEN :start AND :end",
            start=start,
            end=end,
        )

    async def last_events_until(self, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, max(last_event_at) AS last_event_at, "
            "max(last_open_event_at) AS last_open_event_at, min(first_event_at) AS first_event_at "
            "FROM facility_daily_presence WHERE day <= :end GROUP BY facility_id",
            end=end,
        )

    async def milestones(self) -> list[Row]:
        return await self._rows("SELECT * FROM facility_milestones ORDER BY facility_id")

    async def inspections(self) -> list[Row]:
        return await self._rows(
            "SELECT inspection_id, facility_id, visited_on, inspector, equipped, system_in_use, "
            "remarks, recorded_at FROM inspections ORDER BY facility_id, visited_on, recorded_at"
        )

    async def reporting_establishments(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, sum(events) AS events, sum(events_open) AS events_open "
            "FROM facility_daily_presence WHERE day BETWEEN :start AND :end "
            "GROUP BY facility_id HAVING sum(events) > 0",
            start=start,
            end=end,
        )

    async def terminals(self) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, count(*) AS terminals, max(last_seen_at) AS last_seen_at "
            "FROM terminals GROUP BY facility_id"
        )

    # -- polyclinics ---------------------------------------------------------------------

    async def polyclinic_by_service(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, service_code, sum(tickets_issued) AS tickets_issued, "
            "sum(calls) AS calls, sum(recalls) AS recalls, sum(no_shows) AS no_shows, "
            "sum(cancelled) AS cancelled, sum(routed_out) AS routed, "
            "sum(visits_completed) AS visits_completed, sum(expired) AS expired "
            "FROM polyclinic_daily WHERE day BETWEEN :start AND :end "
            "GROUP BY facility_id, service_code ORDER BY facility_id, service_code",
            start=start,
            end=end,
        )

    async def polyclinic_by_day(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, day, sum(tickets_issued) AS tickets_issued, sum(calls) AS calls, "
            "sum(no_shows) AS no_shows, sum(cancelled) AS cancelled, sum(routed_out) AS routed, "
            "sum(visits_completed) AS visits_completed, sum(expired) AS expired "
            "FROM polyclinic_daily WHERE day BETWEEN :start AND :end "
            "GROUP BY facility_id, day ORDER BY facility_id, day",
            start=start,
            end=end,
        )

    async def tickets_called(self, start: date, end: date) -> list[Row]:
        """Distinct tickets first called on each day (`tickets_called@v1`)."""
        return await self._rows(
            f"SELECT facility_id, service_code, {_LOCAL_CALL_DAY} AS day, count(*) AS tickets_called "
            "FROM polyclinic_tickets WHERE day BETWEEN :low AND :end AND first_called_at IS NOT NULL "
            f"AND {_LOCAL_CALL_DAY} BETWEEN :start AND :end GROUP BY 1, 2, 3",
            low=date.fromordinal(start.toordinal() - 1),
            start=start,
            end=end,
        )

    async def waits(self, start: date, end: date, group: str = "facility_service") -> list[Row]:
        """Median and 90th percentile of waits and service times (seconds), per group."""
        keys = {
            "facility_service": "facility_id, service_code",
            "facility": "facility_id",
        }[group]
        return await self._rows(
            f"SELECT {keys}, "
            f"count({_WAIT}) AS waits, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {_WAIT}) AS wait_median, "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {_WAIT}) AS wait_p90, "
            "count(service_seconds) AS services, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY service_seconds) AS service_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY service_seconds) AS service_p90 "
            f"FROM polyclinic_tickets WHERE day BETWEEN :start AND :end GROUP BY {keys} ORDER BY {keys}",
            start=start,
            end=end,
        )

    async def waits_by_kind(self, start: date, end: date, kinds: dict[str, str]) -> list[Row]:
        """Per establishment kind, and for the whole wilaya (`kind` = '__wilaya__'), in one scan."""
        return await self._rows(
            "SELECT COALESCE(kind, '__wilaya__') AS kind, count(w) AS waits, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY w) AS wait_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY w) AS wait_p90, "
            "count(s) AS services, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS service_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS service_p90 "
            f"FROM (SELECT COALESCE(k.kind, 'other') AS kind, {_WAIT} AS w, service_seconds AS s "
            "      FROM polyclinic_tickets t LEFT JOIN unnest(CAST(:codes AS text[]), CAST(:kinds AS text[])) "
            "      AS k(facility_id, kind) USING (facility_id) WHERE t.day BETWEEN :start AND :end) AS x "
            "GROUP BY GROUPING SETS ((kind), ()) ORDER BY 1",
            start=start,
            end=end,
            codes=list(kinds),
            kinds=list(kinds.values()),
        )

    async def busiest_hours(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, hour, sum(tickets_issued) AS tickets_issued "
            "FROM polyclinic_hourly WHERE day BETWEEN :start AND :end "
            "GROUP BY facility_id, hour ORDER BY facility_id, hour",
            start=start,
            end=end,
        )

    # -- emergency, appointments, records, prescriptions ---------------------------------

    async def emergency_by_facility(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, count(*) AS arrivals, "
            "count(*) FILTER (WHERE triage_level = 1) AS triage_1, "
            "count(*) FILTER (WHERE triage_level = 2) AS triage_2, "
            "count(*) FILTER (WHERE triage_level = 3) AS triage_3, "
            "count(*) FILTER (WHERE triage_level = 4) AS triage_4, "
            "count(*) FILTER (WHERE triage_level = 5) AS triage_5, "
            "count(*) FILTER (WHERE triage_level IS NULL) AS not_triaged, "
            "count(*) FILTER (WHERE disposition = 'discharged') AS discharged, "
            "count(*) FILTER (WHERE disposition = 'admitted') AS admitted, "
            "count(*) FILTER (WHERE disposition = 'transferred') AS transferred, "
            "count(*) FILTER (WHERE disposition = 'left_without_being_seen') AS left_without_being_seen, "
            "count(*) FILTER (WHERE disposition = 'left_against_advice') AS left_against_advice, "
            "count(*) FILTER (WHERE disposition = 'deceased') AS deceased, "
            "count(*) FILTER (WHERE disposition IS NULL) AS no_disposition, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY COALESCE(EXTRACT(EPOCH FROM (seen_at - arrived_at)) / 60, "
            "reported_minutes_to_doctor)) AS door_to_doctor_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY COALESCE(EXTRACT(EPOCH FROM (seen_at - arrived_at)) / 60, "
            "reported_minutes_to_doctor)) AS door_to_doctor_p90, "
            "count(COALESCE(seen_at, CASE WHEN reported_minutes_to_doctor IS NOT NULL THEN arrived_at END)) "
            "AS seen, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY length_of_stay_minutes) AS stay_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY length_of_stay_minutes) AS stay_p90, "
            "count(length_of_stay_minutes) AS stays "
            "FROM emergency_visits WHERE day BETWEEN :start AND :end AND arrived_at IS NOT NULL "
            "GROUP BY facility_id ORDER BY facility_id",
            start=start,
            end=end,
        )

    async def emergency_times_by_kind(
        self, start: date, end: date, kinds: dict[str, str]
    ) -> list[Row]:
        """Per establishment kind, and for the whole wilaya (`kind` = '__wilaya__'), in one scan."""
        door = (
            "COALESCE(EXTRACT(EPOCH FROM (seen_at - arrived_at)) / 60, reported_minutes_to_doctor)"
        )
        return await self._rows(
            "SELECT COALESCE(kind, '__wilaya__') AS kind, count(d) AS seen, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS door_to_doctor_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY d) AS door_to_doctor_p90, "
            "count(l) AS stays, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY l) AS stay_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY l) AS stay_p90 "
            f"FROM (SELECT COALESCE(k.kind, 'other') AS kind, {door} AS d, length_of_stay_minutes AS l "
            "      FROM emergency_visits v LEFT JOIN unnest(CAST(:codes AS text[]), CAST(:kinds AS text[])) "
            "      AS k(facility_id, kind) USING (facility_id) "
            "      WHERE v.day BETWEEN :start AND :end AND v.arrived_at IS NOT NULL) AS x "
            "GROUP BY GROUPING SETS ((kind), ()) ORDER BY 1",
            start=start,
            end=end,
            codes=list(kinds),
            kinds=list(kinds.values()),
        )

    async def emergency_counts_by_facility(self, start: date, end: date) -> list[Row]:
        """Arrivals by initial triage level and latest disposition (no timings: cheaper)."""
        return await self._rows(
            "SELECT facility_id, count(*) AS arrivals, "
            + ", ".join(
                f"count(*) FILTER (WHERE triage_level = {level}) AS triage_{level}"
                for level in range(1, 6)
            )
            + ", count(*) FILTER (WHERE triage_level IS NULL) AS not_triaged, "
            + ", ".join(
                f"count(*) FILTER (WHERE disposition = '{d}') AS {d}"
                for d in (
                    "discharged",
                    "admitted",
                    "transferred",
                    "left_without_being_seen",
                    "left_against_advice",
                    "deceased",
                )
            )
            + ", count(*) FILTER (WHERE disposition IS NULL) AS no_disposition "
            "FROM emergency_visits WHERE day BETWEEN :start AND :end AND arrived_at IS NOT NULL "
            "GROUP BY facility_id ORDER BY facility_id",
            start=start,
            end=end,
        )

    async def appointments_by_facility(self, start: date, end: date) -> list[Row]:
        counts = await self._rows(
            "SELECT facility_id, sum(booked) AS booked, sum(arrived) AS attended, "
            "sum(no_shows) AS no_shows, sum(cancelled) AS cancelled, sum(rescheduled) AS rescheduled "
            "FROM appointments_daily WHERE day BETWEEN :start AND :end GROUP BY facility_id",
            start=start,
            end=end,
        )
        leads = await self._rows(
            "SELECT facility_id, count(*) AS leads, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (slot_start - booked_at)) / 86400) "
            "AS lead_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (slot_start - booked_at)) / 86400) "
            "AS lead_p90 FROM appointment_facts WHERE booked_day BETWEEN :start AND :end "
            "AND booked_at IS NOT NULL AND slot_start IS NOT NULL GROUP BY facility_id",
            start=start,
            end=end,
        )
        by_facility = {row["facility_id"]: row for row in counts}
        for lead in leads:
            by_facility.setdefault(
                lead["facility_id"], {"facility_id": lead["facility_id"]}
            ).update(lead)
        return [by_facility[k] for k in sorted(by_facility)]

    async def appointment_places(self, start: date, end: date) -> list[Row]:
        """The schedules (latest revision) that offer places on a day of the period."""
        return await self._rows(
            "SELECT facility_id, specialty_code, first_day, last_day, slot_count, place_count, "
            "places_by_day FROM appointment_schedules "
            "WHERE first_day <= :end AND last_day >= :start",
            start=start,
            end=end,
        )

    async def appointments_by_specialty(self, start: date, end: date) -> list[Row]:
        """Per establishment and specialty: the appointments whose current slot is on a day of
        the period (not cancelled; honoured; missed), and the lead times (days, booking →
        slot booked) of the appointments booked in the period."""
        due = await self._rows(
            "SELECT facility_id, specialty_code, "
            "count(*) FILTER (WHERE NOT cancelled) AS booked, "
            "count(*) FILTER (WHERE NOT cancelled AND arrived) AS honoured, "
            "count(*) FILTER (WHERE NOT cancelled AND no_show AND NOT arrived) AS no_shows "
            "FROM appointment_facts "
            "WHERE COALESCE(current_slot_day, slot_day) BETWEEN :start AND :end "
            "AND specialty_code IS NOT NULL GROUP BY facility_id, specialty_code",
            start=start,
            end=end,
        )
        leads = await self._rows(
            "SELECT facility_id, specialty_code, count(*) AS leads, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (slot_start - booked_at)) / 86400) "
            "AS lead_median, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (slot_start - booked_at)) / 86400) "
            "AS lead_p90 FROM appointment_facts WHERE booked_day BETWEEN :start AND :end "
            "AND booked_at IS NOT NULL AND slot_start IS NOT NULL AND specialty_code IS NOT NULL "
            "GROUP BY facility_id, specialty_code",
            start=start,
            end=end,
        )
        rows: dict[tuple[str, str], Row] = {}
        for row in [*due, *leads]:
            key = (row["facility_id"], row["specialty_code"])
            rows.setdefault(key, {"facility_id": key[0], "specialty_code": key[1]}).update(row)
        return [rows[key] for key in sorted(rows)]

    async def records_by_facility(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, sum(patients_registered) AS patients_registered, "
            "sum(encounters_opened) AS encounters_opened, sum(inpatient_opened) AS inpatient_opened, "
            "sum(outpatient_opened) AS outpatient_opened, sum(emergency_opened) AS emergency_opened, "
            "sum(encounters_closed) AS encounters_closed, sum(deaths) AS deaths, "
            "sum(transfers) AS transfers, sum(diagnoses) AS diagnoses, "
            "sum(length_of_stay_hours) AS length_of_stay_hours, sum(stays_measured) AS stays_measured "
            "FROM records_daily WHERE day BETWEEN :start AND :end GROUP BY facility_id ORDER BY facility_id",
            start=start,
            end=end,
        )

    async def prescriptions_by_facility(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT facility_id, sum(issued) AS issued, sum(dispensed) AS dispensed, "
            "sum(fully_dispensed) AS fully_dispensed, sum(cancelled) AS cancelled, "
            "sum(lines_issued) AS lines_issued, sum(lines_dispensed) AS lines_dispensed, "
            "sum(issued_with_override) AS issued_with_override, "
            "sum(warnings_overridden) AS warnings_overridden, "
            "sum(lines_substituted) AS lines_substituted "
            "FROM prescriptions_daily WHERE day BETWEEN :start AND :end GROUP BY facility_id ORDER BY facility_id",
            start=start,
            end=end,
        )

    async def top_substances(self, start: date, end: date, limit: int = 10) -> list[Row]:
        """The substances on most prescription lines of the wilaya in the period (top DCIs)."""
        return await self._rows(
            "SELECT substance, sum(lines) AS lines, sum(packs_prescribed) AS packs_prescribed, "
            "sum(packs_dispensed) AS packs_dispensed FROM prescription_substances_daily "
            "WHERE day BETWEEN :start AND :end GROUP BY substance "
            "ORDER BY sum(lines) DESC, substance LIMIT :limit",
            start=start,
            end=end,
            limit=limit,
        )

    async def prescriptions_by_day(self, start: date, end: date) -> list[Row]:
        """Per establishment and day, what the queue service counts in /counts/prescriptions."""
        return await self._rows(
            "SELECT facility_id, day, issued AS prescriptions_issued, "
            "lines_issued AS prescription_lines_issued, dispensed AS prescription_dispenses, "
            "cancelled AS prescriptions_cancelled FROM prescriptions_daily "
            "WHERE day BETWEEN :start AND :end ORDER BY facility_id, day",
            start=start,
            end=end,
        )

    async def event_counts(self, start: date, end: date) -> list[Row]:
        return await self._rows(
            "SELECT event_type, schema_version, bool_or(known) AS known, sum(events) AS events "
            "FROM event_counts WHERE day BETWEEN :start AND :end "
            "GROUP BY event_type, schema_version ORDER BY event_type, schema_version",
            start=start,
            end=end,
        )

    # -- reconciliation ------------------------------------------------------------------

    async def appointment_counts(self, start: date, end: date) -> list[Row]:
        """Per establishment and day of the event, what the appointments service counts in
        /counts/appointments."""
        return await self._rows(
            "SELECT facility_id, day, sum(booked) AS booked, sum(cancelled) AS cancelled, "
            "sum(arrived) AS arrived, sum(no_shows) AS no_shows FROM appointments_daily "
            "WHERE day BETWEEN :start AND :end GROUP BY facility_id, day",
            start=start,
            end=end,
        )

    async def activity_counts(self, start: date, end: date) -> list[Row]:
        """Per establishment and day, the figures the queue service counts in /counts/activity."""
        daily = await self.polyclinic_by_day(start, end)
        called = await self.tickets_called(start, end)
        rows: dict[tuple[str, date], Row] = {}
        for row in daily:
            rows[(row["facility_id"], row["day"])] = {
                "facility_id": row["facility_id"],
                "day": row["day"],
                "tickets_issued": int(row["tickets_issued"]),
                "tickets_called": 0,
                "no_shows": int(row["no_shows"]),
                "cancelled": int(row["cancelled"]),
                "routed": int(row["routed"]),
                "visits_completed": int(row["visits_completed"]),
                "expired": int(row["expired"]),
            }
        for row in called:
            key = (row["facility_id"], row["day"])
            entry = rows.setdefault(
                key,
                {
                    "facility_id": key[0],
                    "day": key[1],
                    "tickets_issued": 0,
                    "tickets_called": 0,
                    "no_shows": 0,
                    "cancelled": 0,
                    "routed": 0,
                    "visits_completed": 0,
                    "expired": 0,
                },
            )
            entry["tickets_called"] += int(row["tickets_called"])
        for row in await self.prescriptions_by_day(start, end):
            entry = rows.setdefault(
                (row["facility_id"], row["day"]),
                {"facility_id": row["facility_id"], "day": row["day"]},
            )
            entry.update({k: int(v) for k, v in row.items() if k not in ("facility_id", "day")})
        return [rows[k] for k in sorted(rows)]


async def projection_snapshot(
    session: AsyncSession, tables: Sequence[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the given projection tables, sorted (to compare a rebuild with the live state)."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for table in tables:
        result = await session.execute(text(f"SELECT * FROM {table}"))
        snapshot[table] = sorted((tuple(row) for row in result), key=repr)
    return snapshot


def instant(value: datetime | None) -> datetime | None:
    return value

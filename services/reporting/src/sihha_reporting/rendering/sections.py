"""A report document cut into titled tables, in one language: what every format prints.

Times are shown in Algiers time (the document already carries them so); labels
come in French or Arabic, from the service's catalogues (``report.*`` keys). A
ministry report's cells are printed as published: suppressed cells stay "<5" or "x".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sihha_kit.i18n import N_
from sihha_reporting.domain.rollout import DISAGREEMENT_LABELS, STAGE_LABELS
from sihha_reporting.domain.texts import text

Value = str | int | float | None


@dataclass
class Column:
    key: str
    label: str
    definition: str | None = None


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Value]] = field(default_factory=list)
    #: the first cell of each row is a row label/key (used by the CSV's long format)
    note: str | None = None


#: every label the renderers print, by the name the sections use → its catalogue key
LABELS: dict[str, str] = {
    "wilaya_report": N_("report.wilaya_report"),
    "ministry_report": N_("report.ministry_report"),
    "period": N_("report.period"),
    "revision": N_("report.revision"),
    "status": N_("report.status"),
    "data_as_of": N_("report.data_as_of"),
    "generated_at": N_("report.generated_at"),
    "published": N_("report.published"),
    "provisional": N_("report.provisional"),
    "on_demand": N_("report.on_demand"),
    "establishment": N_("report.establishment"),
    "code": N_("report.code"),
    "kind": N_("report.kind"),
    "stage": N_("report.stage"),
    "inspection": N_("report.inspection"),
    "inspection_equipped": N_("report.inspection_equipped"),
    "inspection_in_use": N_("report.inspection_in_use"),
    "operating": N_("report.operating"),
    "operating_days": N_("report.operating_days"),
    "first_use_on": N_("report.first_use_on"),
    "disagreement": N_("report.disagreement"),
    "rollout": N_("report.rollout"),
    "rollout_summary": N_("report.rollout_summary"),
    "registered": N_("report.registered"),
    "equipped": N_("report.equipped"),
    "disagreements": N_("report.disagreements"),
    "series": N_("report.series"),
    "rollout_day": N_("report.rollout_day"),
    "silent_establishments": N_("report.silent_establishments"),
    "day": N_("report.day"),
    "activity": N_("report.activity"),
    "services": N_("report.services"),
    "service": N_("report.service"),
    "tickets_issued": N_("report.tickets_issued"),
    "tickets_called": N_("report.tickets_called"),
    "calls": N_("report.calls"),
    "visits_completed": N_("report.visits_completed"),
    "no_shows": N_("report.no_shows"),
    "cancelled": N_("report.cancelled"),
    "routed": N_("report.routed"),
    "wait_minutes_median": N_("report.wait_minutes_median"),
    "wait_minutes_p90": N_("report.wait_minutes_p90"),
    "service_minutes_median": N_("report.service_minutes_median"),
    "service_minutes_p90": N_("report.service_minutes_p90"),
    "busiest_hours": N_("report.busiest_hours"),
    "emergency": N_("report.emergency"),
    "arrivals": N_("report.arrivals"),
    "left_without_being_seen": N_("report.left_without_being_seen"),
    "admitted": N_("report.admitted"),
    "door_to_doctor_minutes_median": N_("report.door_to_doctor_minutes_median"),
    "length_of_stay_minutes_median": N_("report.length_of_stay_minutes_median"),
    "appointments": N_("report.appointments"),
    "booked": N_("report.booked"),
    "attended": N_("report.attended"),
    "lead_time_days_median": N_("report.lead_time_days_median"),
    "records": N_("report.records"),
    "encounters_opened": N_("report.encounters_opened"),
    "encounters_closed": N_("report.encounters_closed"),
    "diagnoses": N_("report.diagnoses"),
    "prescriptions": N_("report.prescriptions"),
    "issued": N_("report.issued"),
    "dispensed": N_("report.dispensed"),
    "lines_issued": N_("report.lines_issued"),
    "fully_dispensed": N_("report.fully_dispensed"),
    "share_fully_dispensed": N_("report.share_fully_dispensed"),
    "share_overridden": N_("report.share_overridden"),
    "lines_substituted": N_("report.lines_substituted"),
    "prescription_top_substances": N_("report.prescription_top_substances"),
    "substance": N_("report.substance"),
    "lines": N_("report.lines"),
    "packs_prescribed": N_("report.packs_prescribed"),
    "packs_dispensed": N_("report.packs_dispensed"),
    "silent": N_("report.silent"),
    "silent_opening_hours": N_("report.silent_opening_hours"),
    "last_event_in_opening_hours": N_("report.last_event_in_opening_hours"),
    "last_event": N_("report.last_event"),
    "completeness": N_("report.completeness"),
    "expected": N_("report.expected"),
    "reporting": N_("report.reporting"),
    "ratio": N_("report.ratio"),
    "missing": N_("report.missing"),
    "freshness": N_("report.freshness"),
    "hours_since_last_event": N_("report.hours_since_last_event"),
    "events": N_("report.events"),
    "event_type": N_("report.event_type"),
    "schema_version": N_("report.schema_version"),
    "known": N_("report.known"),
    "definitions": N_("report.definitions"),
    "definition": N_("report.definition"),
    "reference": N_("report.reference"),
    "label": N_("report.label"),
    "yes": N_("report.yes"),
    "no": N_("report.no"),
    "row": N_("report.row"),
    "suppression": N_("report.suppression"),
    "withheld": N_("report.withheld"),
    "cover": N_("report.cover"),
}


def tr(key: str, lang: str) -> str:
    """The label `key` (a name of `LABELS`) in `lang`."""
    return text(lang, LABELS[key])


def _name(row: dict[str, Any], lang: str) -> str:
    return str(row.get("name_ar" if lang == "ar" else "name_fr") or row.get("facility_id"))


def _yes(value: Any, lang: str) -> str:
    return tr("yes", lang) if value else tr("no", lang)


def _table(
    key: str, lang: str, rows: list[dict[str, Any]], fields: list[str], *, named: bool = True
) -> Section:
    columns = [Column("facility_id", tr("code", lang))]
    if named:
        columns.append(Column("name", tr("establishment", lang)))
    columns += [Column(f, tr(f, lang)) for f in fields]
    section = Section(key, tr(key, lang), columns)
    for row in rows:
        line: list[Value] = [row.get("facility_id")]
        if named:
            line.append(_name(row, lang))
        for f in fields:
            value = row.get(f)
            if isinstance(value, bool):
                value = _yes(value, lang)
            elif isinstance(value, list):
                value = ", ".join(
                    f"{item['hour']} ({item['tickets_issued']})"
                    if isinstance(item, dict)
                    else str(item)
                    for item in value
                )
            line.append(value)
        section.rows.append(line)
    return section


def cover(document: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    header = document["report"]
    period = document["period"]
    title = tr(
        "ministry_report" if document["kind"] == "ministry_monthly" else "wilaya_report", lang
    )
    wilaya = document["wilaya"]
    status = tr(header["status"], lang)
    lines = [
        (
            tr("cover", lang),
            f"{title} — {wilaya['code']} {wilaya['name_ar' if lang == 'ar' else 'name_fr']}",
        ),
        (tr("period", lang), period["label_ar" if lang == "ar" else "label_fr"]),
        (tr("revision", lang), f"{header['revision']}" if header["revision"] else "—"),
        (tr("status", lang), status),
        (tr("data_as_of", lang), header["data_as_of"] or "—"),
        (tr("generated_at", lang), header["generated_at"]),
    ]
    if document.get("scope"):
        lines.append(
            (
                tr("establishment", lang),
                f"{document['scope']['facility_id']} {_name(document['scope'], lang)}",
            )
        )
    return lines


def wilaya_sections(document: dict[str, Any], lang: str) -> list[Section]:
    rollout = document["rollout"]
    summary = Section(
        "rollout_summary",
        tr("rollout_summary", lang),
        [Column(k, tr(k, lang)) for k in ("registered", "equipped", "operating", "disagreements")],
        [[rollout["summary"][k] for k in ("registered", "equipped", "operating", "disagreements")]],
    )
    series = Section(
        "series",
        tr("series", lang),
        [
            Column("day", tr("day", lang)),
            Column("equipped", tr("equipped", lang)),
            Column("operating", tr("operating", lang)),
        ],
        [[p["day"], p["equipped"], p["operating"]] for p in rollout["series"]],
    )
    rollout_rows = []
    for row in rollout["establishments"]:
        inspection = row["inspection"] or {}
        rollout_rows.append(
            {
                **row,
                "stage": text(lang, STAGE_LABELS[row["stage"]]),
                "inspection": inspection.get("visited_on"),
                "inspection_equipped": _yes(inspection.get("equipped"), lang)
                if inspection
                else "—",
                "inspection_in_use": _yes(inspection.get("system_in_use"), lang)
                if inspection
                else "—",
                "disagreement": text(lang, DISAGREEMENT_LABELS[row["disagreement"]])
                if row["disagreement"]
                else "",
            }
        )
    sections = [
        summary,
        _table(
            "rollout",
            lang,
            rollout_rows,
            [
                "kind",
                "stage",
                "inspection",
                "inspection_equipped",
                "inspection_in_use",
                "operating_days",
                "first_use_on",
                "disagreement",
            ],
        ),
        series,
    ]
    activity = document["activity"]
    sections.append(
        _table(
            "activity",
            lang,
            activity["establishments"],
            [
                "tickets_issued",
                "tickets_called",
                "visits_completed",
                "no_shows",
                "cancelled",
                "routed",
                "wait_minutes_median",
                "wait_minutes_p90",
                "service_minutes_median",
                "service_minutes_p90",
                "busiest_hours",
            ],
        )
    )
    services = Section(
        "services",
        tr("services", lang),
        [Column("facility_id", tr("code", lang)), Column("service_code", tr("service", lang))]
        + [
            Column(f, tr(f, lang))
            for f in (
                "tickets_issued",
                "tickets_called",
                "visits_completed",
                "no_shows",
                "cancelled",
                "routed",
                "wait_minutes_median",
                "wait_minutes_p90",
            )
        ],
    )
    for row in activity["services"]:
        services.rows.append(
            [row["facility_id"], row["service_code"]]
            + [
                row[f]
                for f in (
                    "tickets_issued",
                    "tickets_called",
                    "visits_completed",
                    "no_shows",
                    "cancelled",
                    "routed",
                    "wait_minutes_median",
                    "wait_minutes_p90",
                )
            ]
        )
    sections.append(services)
    if document["emergency"]:
        sections.append(
            _table(
                "emergency",
                lang,
                document["emergency"],
                [
                    "arrivals",
                    "admitted",
                    "left_without_being_seen",
                    "door_to_doctor_minutes_median",
                    "length_of_stay_minutes_median",
                ],
            )
        )
    if document["appointments"]:
        sections.append(
            _table(
                "appointments",
                lang,
                document["appointments"],
                ["booked", "attended", "no_shows", "cancelled", "lead_time_days_median"],
            )
        )
    if document["records"]:
        sections.append(
            _table(
                "records",
                lang,
                document["records"],
                ["encounters_opened", "encounters_closed", "diagnoses"],
            )
        )
    if document["prescriptions"]:
        sections.append(
            _table(
                "prescriptions",
                lang,
                document["prescriptions"],
                [
                    "issued",
                    "lines_issued",
                    "dispensed",
                    "fully_dispensed",
                    "cancelled",
                    "share_fully_dispensed",
                    "share_overridden",
                    "lines_substituted",
                ],
            )
        )
    if document.get("prescription_top_substances"):
        top = Section(
            "prescription_top_substances",
            tr("prescription_top_substances", lang),
            [
                Column(k, tr(k, lang))
                for k in ("substance", "lines", "packs_prescribed", "packs_dispensed")
            ],
        )
        for row in document["prescription_top_substances"]:
            top.rows.append(
                [row["substance"], row["lines"], row["packs_prescribed"], row["packs_dispensed"]]
            )
        sections.append(top)
    silent = _table(
        "silent",
        lang,
        document["silent"]["establishments"],
        ["silent_opening_hours", "last_event_in_opening_hours", "last_event"],
    )
    silent.note = text(lang, N_("report.silent_note"), hours=document["silent"]["threshold_hours"])
    sections.append(silent)
    completeness = document["completeness"]
    sections.append(
        Section(
            "completeness",
            tr("completeness", lang),
            [Column(k, tr(k, lang)) for k in ("expected", "reporting", "ratio", "missing")],
            [
                [
                    completeness["expected"],
                    completeness["reporting"],
                    completeness["ratio"],
                    ", ".join(m["facility_id"] for m in completeness["missing"]),
                ]
            ],
        )
    )
    sections.append(
        _table(
            "freshness",
            lang,
            document["freshness"]["establishments"],
            ["last_event", "hours_since_last_event"],
        )
    )
    if document["events"]:
        sections.append(
            Section(
                "events",
                tr("events", lang),
                [
                    Column(k, tr(k, lang))
                    for k in ("event_type", "schema_version", "known", "events")
                ],
                [
                    [e["event_type"], e["schema_version"], _yes(e["known"], lang), e["events"]]
                    for e in document["events"]
                ],
            )
        )
    sections.append(definitions_section(document, lang))
    return sections


def ministry_sections(document: dict[str, Any], lang: str) -> list[Section]:
    sections = []
    for table in document["tables"]:
        label = "label_ar" if lang == "ar" else "label_fr"
        section = Section(
            table["id"],
            table["title_ar" if lang == "ar" else "title_fr"],
            [Column("row", tr("row", lang))]
            + [Column(c["key"], c[label], c["definition"]) for c in table["columns"]],
        )
        for row, cells in zip(table["rows"], table["cells"], strict=True):
            section.rows.append([row[label], *cells])
        suppression = table.get("suppression")
        if suppression and suppression["withheld"]:
            section.note = tr("withheld", lang)
        sections.append(section)
    rule = document["suppression"]["rule_ar" if lang == "ar" else "rule_fr"]
    sections.append(
        Section(
            "suppression",
            tr("suppression", lang),
            [Column("rule", tr("suppression", lang))],
            [[rule]],
        )
    )
    sections.append(definitions_section(document, lang))
    return sections


def definitions_section(document: dict[str, Any], lang: str) -> Section:
    suffix = "ar" if lang == "ar" else "fr"
    return Section(
        "definitions",
        tr("definitions", lang),
        [
            Column("ref", tr("reference", lang)),
            Column("label", tr("label", lang)),
            Column("definition", tr("definition", lang)),
        ],
        [
            [d["ref"], d[f"label_{suffix}"], d[f"definition_{suffix}"]]
            for d in document["definitions"]
        ],
    )


def sections(document: dict[str, Any], lang: str) -> list[Section]:
    if document["kind"] == "ministry_monthly":
        return ministry_sections(document, lang)
    return wilaya_sections(document, lang)

"""A report document cut into titled tables, in one language: what every format prints.

Times are shown in Algiers time (the document already carries them so); labels
come in French or Arabic. A ministry report's cells are printed as published:
suppressed cells stay "<5" or "x".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sihha_kit.i18n import Catalogue
from sihha_reporting.domain.rollout import DISAGREEMENT_LABELS, STAGE_LABELS

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


T: dict[str, tuple[str, str]] = {
    "wilaya_report": ("Rapport de la wilaya", "تقرير الولاية"),
    "ministry_report": ("Rapport au ministère de la Santé", "التقرير الموجه إلى وزارة الصحة"),
    "period": ("Période", "الفترة"),
    "revision": ("Révision", "المراجعة"),
    "status": ("Statut", "الحالة"),
    "data_as_of": ("Données arrêtées au", "البيانات محدثة إلى غاية"),
    "generated_at": ("Généré le", "أُنشئ في"),
    "published": ("publié", "منشور"),
    "provisional": ("provisoire (période en cours)", "مؤقت (فترة جارية)"),
    "on_demand": ("à la demande (non publié)", "عند الطلب (غير منشور)"),
    "establishment": ("Établissement", "المؤسسة"),
    "code": ("Code", "الرمز"),
    "kind": ("Type", "النوع"),
    "stage": ("Étape", "المرحلة"),
    "inspection": ("Inspection", "المعاينة"),
    "inspection_equipped": ("Équipé (inspection)", "مجهز (المعاينة)"),
    "inspection_in_use": ("Utilisé (inspection)", "مستعمل (المعاينة)"),
    "operating": ("En fonctionnement", "في الخدمة"),
    "operating_days": ("Jours de fonctionnement", "أيام التشغيل"),
    "first_use_on": ("Première utilisation", "أول استعمال"),
    "disagreement": ("Écart inspection / télémétrie", "تباين المعاينة / القياس عن بعد"),
    "rollout": ("Déploiement", "النشر"),
    "rollout_summary": ("Déploiement : synthèse", "النشر: ملخص"),
    "registered": ("Enregistrés", "مسجلة"),
    "equipped": ("Équipés", "مجهزة"),
    "disagreements": ("Écarts", "تباينات"),
    "series": ("Établissements en fonctionnement par jour", "المؤسسات العاملة حسب اليوم"),
    "day": ("Jour", "اليوم"),
    "activity": ("Activité des polycliniques", "نشاط العيادات متعددة الخدمات"),
    "services": ("Activité par service", "النشاط حسب المصلحة"),
    "service": ("Service", "المصلحة"),
    "tickets_issued": ("Tickets émis", "التذاكر الصادرة"),
    "tickets_called": ("Tickets appelés", "التذاكر المنادى عليها"),
    "calls": ("Appels", "النداءات"),
    "visits_completed": ("Servis", "المخدومون"),
    "no_shows": ("Absents", "الغائبون"),
    "cancelled": ("Annulés", "الملغاة"),
    "routed": ("Orientés", "الموجَّهون"),
    "wait_minutes_median": ("Attente médiane (min)", "وسيط الانتظار (د)"),
    "wait_minutes_p90": ("Attente P90 (min)", "الانتظار م90 (د)"),
    "service_minutes_median": ("Service médian (min)", "وسيط الخدمة (د)"),
    "service_minutes_p90": ("Service P90 (min)", "الخدمة م90 (د)"),
    "busiest_hours": ("Heures de pointe", "ساعات الذروة"),
    "emergency": ("Urgences", "الاستعجالات"),
    "arrivals": ("Admissions", "الاستقبالات"),
    "left_without_being_seen": ("Partis sans être vus", "غادروا دون فحص"),
    "admitted": ("Hospitalisés", "استُشفوا"),
    "door_to_doctor_minutes_median": (
        "Porte→médecin médiane (min)",
        "من الباب إلى الطبيب، الوسيط (د)",
    ),
    "length_of_stay_minutes_median": ("Séjour médian (min)", "وسيط الإقامة (د)"),
    "appointments": ("Rendez-vous de spécialistes", "مواعيد الأخصائيين"),
    "booked": ("Pris", "محجوزة"),
    "attended": ("Honorés", "محترمة"),
    "lead_time_days_median": ("Délai médian (jours)", "وسيط الأجل (أيام)"),
    "records": ("Dossier médical numérique", "الملف الطبي الرقمي"),
    "encounters_opened": ("Séjours ouverts", "إقامات مفتوحة"),
    "encounters_closed": ("Séjours clos", "إقامات مغلقة"),
    "diagnoses": ("Diagnostics", "التشخيصات"),
    "prescriptions": ("Ordonnances électroniques", "الوصفات الإلكترونية"),
    "issued": ("Émises", "صادرة"),
    "dispensed": ("Délivrées", "مسلَّمة"),
    "lines_issued": ("Lignes", "الأسطر"),
    "fully_dispensed": ("Délivrées en entier", "مسلَّمة كاملة"),
    "share_fully_dispensed": ("Part délivrée en entier", "نسبة المسلَّمة كاملة"),
    "share_overridden": ("Part signée malgré une alerte", "نسبة الموقَّعة رغم تنبيه"),
    "lines_substituted": ("Lignes substituées", "أسطر مستبدلة"),
    "prescription_top_substances": ("DCI les plus prescrites", "أكثر التسميات الدولية وصفًا"),
    "substance": ("DCI", "التسمية الدولية"),
    "lines": ("Lignes", "الأسطر"),
    "packs_prescribed": ("Boîtes prescrites", "العلب الموصوفة"),
    "packs_dispensed": ("Boîtes délivrées", "العلب المسلَّمة"),
    "silent": ("Établissements silencieux", "المؤسسات الصامتة"),
    "silent_opening_hours": ("Heures d'ouverture sans événement", "ساعات عمل دون أحداث"),
    "last_event_in_opening_hours": (
        "Dernier événement en heures d'ouverture",
        "آخر حدث أثناء ساعات العمل",
    ),
    "last_event": ("Dernier événement", "آخر حدث"),
    "completeness": ("Complétude", "الاكتمال"),
    "expected": ("Attendus", "المنتظرة"),
    "reporting": ("Ayant transmis", "المُرسِلة"),
    "ratio": ("Taux", "النسبة"),
    "missing": ("N'ayant pas transmis", "لم تُرسل"),
    "freshness": ("Fraîcheur des données", "حداثة البيانات"),
    "hours_since_last_event": ("Heures depuis le dernier événement", "ساعات منذ آخر حدث"),
    "events": ("Événements reçus par type", "الأحداث الواردة حسب النوع"),
    "event_type": ("Type d'événement", "نوع الحدث"),
    "schema_version": ("Version", "الإصدار"),
    "known": ("Connu", "معروف"),
    "definitions": ("Définitions des indicateurs", "تعريفات المؤشرات"),
    "definition": ("Définition", "التعريف"),
    "reference": ("Référence", "المرجع"),
    "label": ("Indicateur", "المؤشر"),
    "yes": ("oui", "نعم"),
    "no": ("non", "لا"),
    "row": ("Ligne", "السطر"),
    "suppression": ("Règle de confidentialité", "قاعدة السرية"),
    "withheld": ("Tableau retenu (confidentialité)", "جدول محجوب (السرية)"),
    "cover": ("Rapport", "التقرير"),
}


def tr(key: str, lang: str) -> str:
    fr, ar = T[key]
    return ar if lang == "ar" else fr


#: the appointments section per specialty: each field of the report and the catalogue key of
#: its label (`locales/*/LC_MESSAGES/messages.po`)
SPECIALTY_COLUMNS = (
    ("specialty_code", "report.appointments.specialty"),
    ("places_offered", "report.appointments.places_offered"),
    ("places_booked", "report.appointments.places_booked"),
    ("honoured", "report.appointments.honoured"),
    ("no_shows", "report.appointments.no_shows"),
    ("no_show_rate", "report.appointments.no_show_rate"),
    ("lead_time_days_median", "report.appointments.wait_days_median"),
    ("lead_time_days_p90", "report.appointments.wait_days_p90"),
)


def appointments_by_specialty(document: dict[str, Any], lang: str) -> Section:
    """Places offered, booked, honoured and missed, the no-show rate and the waiting time to
    the appointment, per establishment and specialty."""
    texts = Catalogue.of("sihha_reporting")
    section = Section(
        "appointments_by_specialty",
        texts.text(lang, "report.appointments.by_specialty"),
        [Column("facility_id", tr("code", lang)), Column("name", tr("establishment", lang))]
        + [Column(field, texts.text(lang, key)) for field, key in SPECIALTY_COLUMNS],
    )
    for row in document["appointments_by_specialty"]["rows"]:
        section.rows.append(
            [row["facility_id"], _name(row, lang)] + [row[field] for field, _ in SPECIALTY_COLUMNS]
        )
    return section


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
    if header.get("status_note"):  # a provisional report explains itself
        status = f"{status} — {header['status_note'][lang]}"
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
                "stage": STAGE_LABELS[row["stage"]][1 if lang == "ar" else 0],
                "inspection": inspection.get("visited_on"),
                "inspection_equipped": _yes(inspection.get("equipped"), lang)
                if inspection
                else "—",
                "inspection_in_use": _yes(inspection.get("system_in_use"), lang)
                if inspection
                else "—",
                "disagreement": DISAGREEMENT_LABELS[row["disagreement"]][1 if lang == "ar" else 0]
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
                "left_without_being_seen",
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
    if document.get("appointments_by_specialty", {}).get("rows"):
        sections.append(appointments_by_specialty(document, lang))
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
    silent.note = f"≥ {document['silent']['threshold_hours']} h"
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

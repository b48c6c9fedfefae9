"""The wilaya's daily report as the demo prints it in a terminal (French / Arabic)."""

from __future__ import annotations

import statistics
from typing import Any

from sihha_runner.traffic import CALIBRATION

#: what each calibration figure is, in the printout (French / Arabic)
CALIBRATION_LABELS = {
    "busiest_visits": "patients à la polyclinique la plus chargée / مرضى أكثر عيادة",
    "busiest_mg_wait_median": "attente médiane en médecine générale là (min) / وسيط الانتظار",
    "mg_wait_median": "attente médiane en MG, médiane des polycliniques (min)",
    "morning_share": "part des premiers tickets avant 11:00 / حصة ما قبل 11:00",
}


def mg_waits(report: dict[str, Any]) -> dict[str, float]:
    """General medicine's median wait (minutes) per establishment, where measured."""
    return {
        row["facility_id"]: row["wait_minutes_median"]
        for row in report.get("activity", {}).get("services", [])
        if row.get("service_code") == "MG" and row.get("wait_minutes_median") is not None
    }


def calibration_figures(
    report: dict[str, Any], stats: Any, played: dict[str, int]
) -> dict[str, float | None]:
    """The day's figures that `traffic.CALIBRATION` bounds, measured: first tickets from
    the simulation, waits from the report."""
    waits = mg_waits(report)
    top = max(played, key=lambda clinic: (played[clinic], clinic)) if played else None
    first = sum(stats.hours.values()) if stats is not None else 0
    return {
        "busiest_visits": stats.issued.get(top, 0) if stats is not None and top else None,
        "busiest_mg_wait_median": waits.get(top) if top else None,
        "mg_wait_median": statistics.median(waits.values()) if waits else None,
        "morning_share": (
            round(sum(n for hour, n in stats.hours.items() if hour < 11) / first, 2)
            if first
            else None
        ),
    }


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render_daily(
    report: dict[str, Any],
    reconciliation: dict[str, Any],
    stats: Any,
    played: dict[str, int] | None = None,
    checked_in: int = 0,
) -> str:
    """The report in a terminal; with the simulation's `stats`, what its totals are made
    of, and with the polyclinics `played` (planned patients each), the traffic model's
    calibration figures beside their expected ranges."""
    lines: list[str] = []
    header = report.get("report", {})
    period = report.get("period", {})
    lines.append("")
    lines.append("═" * 78)
    lines.append(f" Rapport de la wilaya d'Oran — {period.get('label_fr', '')}")
    lines.append(f" تقرير ولاية وهران — {period.get('label_ar', '')}")
    lines.append(
        f" révision / المراجعة: {header.get('revision') or '—'}   "
        f"données au / البيانات إلى غاية: {header.get('data_as_of') or '—'}"
    )
    lines.append("═" * 78)

    rollout = report.get("rollout", {}).get("summary", {})
    lines.append(
        " Déploiement / التعميم:  enregistrés {r}  équipés {e}  en fonctionnement {o}  "
        "écarts inspection/télémétrie {d}".format(
            r=rollout.get("registered", "—"),
            e=rollout.get("equipped", "—"),
            o=rollout.get("operating", "—"),
            d=rollout.get("disagreements", "—"),
        )
    )
    activity = report.get("activity", {})
    totals = activity.get("totals", {})
    lines.append(
        " Activité / النشاط:  tickets {t}  appelés {c}  servis {s}  absents {n}  orientés {o}".format(
            t=totals.get("tickets_issued", "—"),
            c=totals.get("tickets_called", "—"),
            s=totals.get("visits_completed", "—"),
            n=totals.get("no_shows", "—"),
            o=totals.get("routed", "—"),
        )
    )
    if stats is not None:
        kiosk, desk = stats.channels.get("kiosk", 0), stats.channels.get("reception", 0)
        lines.append(
            f"   tickets = {kiosk + desk} premiers tickets (borne {kiosk}, accueil {desk}: "
            f"un par patient) + {stats.routed} orientés (un nouveau ticket au service suivant) "
            f"+ {checked_in} rendez-vous enregistrés à la borne"
        )
        lines.append(
            f"   absents = {stats.no_shows_requeued} absents à l'appel remis une fois en file "
            f"+ {stats.no_shows - stats.no_shows_requeued} absents au second appel (ticket clos)"
        )
    prescribed = report.get("prescriptions") or []
    if prescribed:
        issued = sum(r.get("issued", 0) for r in prescribed)
        top = ", ".join(
            t["substance"] for t in (report.get("prescription_top_substances") or [])[:3]
        )
        lines.append(
            " Ordonnances / الوصفات:  émises {i}  délivrées {d} (en entier {f})  "
            "signées malgré une alerte {o}  DCI en tête : {top}".format(
                i=issued,
                d=sum(r.get("dispensed", 0) for r in prescribed),
                f=sum(r.get("fully_dispensed", 0) for r in prescribed),
                o=sum(r.get("issued_with_override", 0) for r in prescribed),
                top=top or "—",
            )
        )
    lines.append("")
    lines.append(
        f" {'établissement':<34}{'tickets':>8}{'servis':>8}{'absents':>8}"
        f"{'attente méd.':>13}{'p90':>6}{'MG méd.':>9}"
    )
    lines.append(
        f" {'المؤسسة':<34}{'التذاكر':>8}{'خُدموا':>8}{'غائبون':>8}{'الانتظار (د)':>13}{'':>6}"
        f"{'ط. عام':>9}"
    )
    lines.append(" " + "─" * 77)
    for row in activity.get("establishments", []):
        name = f"{row.get('facility_id', '')} {row.get('name_fr', '')}"[:33]
        lines.append(
            f" {name:<34}{_num(row.get('tickets_issued')):>8}{_num(row.get('visits_completed')):>8}"
            f"{_num(row.get('no_shows')):>8}{_num(row.get('wait_minutes_median')):>13}"
            f"{_num(row.get('wait_minutes_p90')):>6}"
            f"{_num(mg_waits(report).get(row.get('facility_id', ''))):>9}"
        )
    silent = report.get("silent", {}).get("establishments", [])
    if silent:
        lines.append("")
        lines.append(" Établissements équipés mais silencieux / مؤسسات مجهزة لكن صامتة:")
        for row in silent:
            lines.append(f"   {row.get('facility_id', '')} {row.get('name_fr', '')}")
    completeness = report.get("completeness", {})
    if completeness:
        lines.append(
            f"\n Complétude / الاكتمال: {completeness.get('reporting', '—')}/{completeness.get('expected', '—')}"
            " établissements attendus ont transmis"
        )
    lines.append("")
    differences = reconciliation.get("differences") if reconciliation else None
    if differences is None:
        lines.append(" Rapprochement / المطابقة: indisponible")
    else:
        lines.append(
            f" Rapprochement rapport = sources / المطابقة التقرير = المصادر: {len(differences)} écart(s) / فرق"
        )
        for difference in differences[:10]:
            lines.append(f"   {difference}")
    if played:
        lines.append("")
        lines.append(
            " Modèle de trafic, plages attendues (runner/README.md) / نموذج الحركة، النطاقات المتوقعة:"
        )
        for name, value in calibration_figures(report, stats, played).items():
            shown = "—" if value is None else f"{value:g}"
            if name in CALIBRATION:
                low, high = CALIBRATION[name]
                within = value is not None and low <= value <= high
                verdict = f"attendu {low:g}–{high:g} {'✓' if within else '✗'}"
            else:
                verdict = "(informatif)"
            lines.append(f"   {CALIBRATION_LABELS[name]:<60}{shown:>8}   {verdict}")
    if stats is not None:
        lines.append(
            f"\n Simulation: {sum(stats.issued.values())} tickets issued, {stats.called} calls, "
            f"{stats.completed} completed, {stats.routed} routed, {stats.no_shows} no-shows, "
            f"{stats.heartbeats} heartbeats; kiosks at most {stats.max_arrival_lag_minutes:.0f} min late ({stats.worst_lag_at:%H:%M}); refused {dict(stats.refused) or 0}; "
            f"transport retries {dict(stats.errors) or 0}"
        )
        for example in stats.refusal_examples:
            lines.append(f"   refused: {example}")
    return "\n".join(lines)

"""The wilaya's daily report as the demo prints it in a terminal (French / Arabic)."""

from __future__ import annotations

from typing import Any


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render_daily(report: dict[str, Any], reconciliation: dict[str, Any], stats: Any) -> str:
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
        f"{'attente méd.':>13}{'p90':>6}"
    )
    lines.append(
        f" {'المؤسسة':<34}{'التذاكر':>8}{'خُدموا':>8}{'غائبون':>8}{'الانتظار (د)':>13}{'':>6}"
    )
    lines.append(" " + "─" * 77)
    for row in activity.get("establishments", []):
        name = f"{row.get('facility_id', '')} {row.get('name_fr', '')}"[:33]
        lines.append(
            f" {name:<34}{_num(row.get('tickets_issued')):>8}{_num(row.get('visits_completed')):>8}"
            f"{_num(row.get('no_shows')):>8}{_num(row.get('wait_minutes_median')):>13}"
            f"{_num(row.get('wait_minutes_p90')):>6}"
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

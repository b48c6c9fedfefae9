"""The wilaya's daily report as the demo prints it (French / Arabic), with `rich`:
tables for the establishments and the traffic model's calibration, colours on a
terminal and none in a log."""

from __future__ import annotations

import statistics
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from sihha_runner.traffic import CALIBRATION

#: above this share of slow requests (`simulator.SLOW_REQUEST`), the printout says the
#: machine did not keep up with the simulated clock
SLOW_SHARE = 0.05

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


def _line(label: str, text: str, style: str = "bold") -> Text:
    line = Text(" ")
    line.append(label, style=style)
    line.append(text)
    return line


def render_daily(
    report: dict[str, Any],
    reconciliation: dict[str, Any],
    stats: Any,
    played: dict[str, int] | None = None,
    checked_in: int = 0,
) -> RenderableType:
    """The report for a console; with the simulation's `stats`, what its totals are made
    of, and with the polyclinics `played` (planned patients each), the traffic model's
    calibration figures beside their expected ranges."""
    parts: list[RenderableType] = [Text("")]
    header = report.get("report", {})
    period = report.get("period", {})
    parts.append(Rule(style="blue"))
    parts.append(
        Text(
            f" Rapport de la wilaya d'Oran — {period.get('label_fr', '')}\n"
            f" تقرير ولاية وهران — {period.get('label_ar', '')}",
            style="bold",
        )
    )
    parts.append(
        Text(
            f" révision / المراجعة: {header.get('revision') or '—'}   "
            f"données au / البيانات إلى غاية: {header.get('data_as_of') or '—'}",
            style="dim",
        )
    )
    parts.append(Rule(style="blue"))

    rollout = report.get("rollout", {}).get("summary", {})
    parts.append(
        _line(
            "Déploiement / التعميم:",
            "  enregistrés {r}  équipés {e}  en fonctionnement {o}  "
            "écarts inspection/télémétrie {d}".format(
                r=rollout.get("registered", "—"),
                e=rollout.get("equipped", "—"),
                o=rollout.get("operating", "—"),
                d=rollout.get("disagreements", "—"),
            ),
        )
    )
    activity = report.get("activity", {})
    totals = activity.get("totals", {})
    parts.append(
        _line(
            "Activité / النشاط:",
            "  tickets {t}  appelés {c}  servis {s}  absents {n}  orientés {o}".format(
                t=totals.get("tickets_issued", "—"),
                c=totals.get("tickets_called", "—"),
                s=totals.get("visits_completed", "—"),
                n=totals.get("no_shows", "—"),
                o=totals.get("routed", "—"),
            ),
        )
    )
    if stats is not None:
        kiosk, desk = stats.channels.get("kiosk", 0), stats.channels.get("reception", 0)
        parts.append(
            Text(
                f"   tickets = {kiosk + desk} premiers tickets (borne {kiosk}, accueil {desk}: "
                f"un par patient) + {stats.routed} orientés (un nouveau ticket au service "
                f"suivant) + {checked_in} rendez-vous enregistrés à la borne",
                style="dim",
            )
        )
        parts.append(
            Text(
                f"   absents = {stats.no_shows - stats.no_shows_requeued} absents au second "
                f"appel (ticket clos); les {stats.no_shows_requeued} absents au premier appel, "
                "remis une fois en file, n'y sont pas comptés",
                style="dim",
            )
        )
    prescribed = report.get("prescriptions") or []
    if prescribed:
        top = ", ".join(
            t["substance"] for t in (report.get("prescription_top_substances") or [])[:3]
        )
        parts.append(
            _line(
                "Ordonnances / الوصفات:",
                "  émises {i}  délivrées {d} (en entier {f})  signées malgré une alerte {o}  "
                "DCI en tête : {top}".format(
                    i=sum(r.get("issued", 0) for r in prescribed),
                    d=sum(r.get("dispensed", 0) for r in prescribed),
                    f=sum(r.get("fully_dispensed", 0) for r in prescribed),
                    o=sum(r.get("issued_with_override", 0) for r in prescribed),
                    top=top or "—",
                ),
            )
        )
    parts.append(_establishments(report))
    silent = report.get("silent", {}).get("establishments", [])
    if silent:
        parts.append(
            _line(
                "Établissements équipés mais silencieux / مؤسسات مجهزة لكن صامتة: ",
                ", ".join(row.get("facility_id", "") for row in silent),
                style="bold yellow",
            )
        )
    completeness = report.get("completeness", {})
    if completeness:
        parts.append(
            _line(
                "Complétude / الاكتمال: ",
                f"{completeness.get('reporting', '—')}/{completeness.get('expected', '—')}"
                " établissements attendus ont transmis",
            )
        )
    differences = reconciliation.get("differences") if reconciliation else None
    if differences is None:
        parts.append(_line("Rapprochement / المطابقة: ", "indisponible", style="bold red"))
    else:
        parts.append(
            _line(
                "Rapprochement rapport = sources / المطابقة التقرير = المصادر: ",
                f"{len(differences)} écart(s) / فرق",
                style="bold green" if not differences else "bold red",
            )
        )
        for difference in differences[:10]:
            parts.append(Text(f"   {difference}", style="red"))
    if played:
        parts.append(_calibration(report, stats, played))
    if stats is not None:
        lag_at = f"{stats.worst_lag_at:%H:%M}" if stats.worst_lag_at else "—"
        parts.append(
            Text(
                f"\n Simulation: {sum(stats.issued.values())} tickets issued, {stats.called} "
                f"calls, {stats.completed} completed, {stats.routed} routed, {stats.no_shows} "
                f"no-shows, {stats.heartbeats} heartbeats; kiosks at most "
                f"{stats.max_arrival_lag_minutes:.0f} min late ({lag_at}); "
                f"{stats.slow_requests} of {stats.requests} requests slower than a simulated "
                "minute; refused "
                f"{dict(stats.refused) or 0}; transport retries {dict(stats.errors) or 0}",
                style="dim",
            )
        )
        for example in stats.refusal_examples:
            parts.append(Text(f"   refused: {example}", style="dim"))
        if stats.requests and stats.slow_requests > SLOW_SHARE * stats.requests:
            parts.append(
                Text(
                    " La machine ne suit pas la vitesse de la simulation : les attentes "
                    "mesurées dépassent celles du modèle (--speed plus bas) / الجهاز أبطأ "
                    "من سرعة المحاكاة",
                    style="bold red",
                )
            )
    return Group(*parts)


def _establishments(report: dict[str, Any]) -> Table:
    table = Table(
        title="Activité par établissement / النشاط حسب المؤسسة",
        caption="attente : minutes du ticket à l'appel (médiane, p90) / الانتظار بالدقائق",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("établissement / المؤسسة")
    for column in (
        "tickets",
        "servis / خُدموا",
        "absents / غائبون",
        "attente / الانتظار",
        "p90",
        "méd. générale / ط. عام",
    ):
        table.add_column(column, justify="right")
    waits = mg_waits(report)
    for row in report.get("activity", {}).get("establishments", []):
        code = row.get("facility_id", "")
        table.add_row(
            Text(f"{code} {row.get('name_fr', '')}"),
            _num(row.get("tickets_issued")),
            _num(row.get("visits_completed")),
            _num(row.get("no_shows")),
            _num(row.get("wait_minutes_median")),
            _num(row.get("wait_minutes_p90")),
            _num(waits.get(code)),
        )
    return table


def _calibration(report: dict[str, Any], stats: Any, played: dict[str, int]) -> Table:
    table = Table(
        title="Modèle de trafic : mesuré et attendu (runner/README.md) / نموذج الحركة",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("chiffre / المؤشر")
    table.add_column("mesuré / المقاس", justify="right")
    table.add_column("attendu / المتوقع", justify="right")
    table.add_column("")
    for name, value in calibration_figures(report, stats, played).items():
        shown = "—" if value is None else f"{value:g}"
        if name in CALIBRATION:
            low, high = CALIBRATION[name]
            within = value is not None and low <= value <= high
            expected, verdict = (
                f"{low:g}–{high:g}",
                Text("✓" if within else "✗", style="green" if within else "bold red"),
            )
        else:
            expected, verdict = "(informatif)", Text("")
        table.add_row(Text(CALIBRATION_LABELS[name]), shown, expected, verdict)
    return table

"""Every figure a report shows comes with the versioned definition that produced it.

A definition never changes once published: a different way of counting is a
new version (`wait_time@v2`), and reports say which version each figure uses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    id: str
    version: int
    unit: str
    label_fr: str
    label_ar: str
    definition_fr: str
    definition_ar: str
    sources: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.id}@v{self.version}"

    def as_dict(self) -> dict[str, object]:
        return {
            "ref": self.ref,
            "id": self.id,
            "version": self.version,
            "unit": self.unit,
            "label_fr": self.label_fr,
            "label_ar": self.label_ar,
            "definition_fr": self.definition_fr,
            "definition_ar": self.definition_ar,
            "sources": list(self.sources),
        }


_DAY_FR = "compté le jour (heure d'Alger) où l'événement a eu lieu (occurred_at)"
_DAY_AR = "يُحتسب في اليوم (بتوقيت الجزائر) الذي وقع فيه الحدث (occurred_at)"

METRICS: dict[str, Metric] = {
    m.id: m
    for m in (
        Metric(
            "establishments_registered",
            1,
            "establishments",
            "Établissements enregistrés",
            "المؤسسات المسجلة",
            "Établissements du registre de la wilaya (hors EPSP, structures administratives).",
            "مؤسسات سجل الولاية (باستثناء المؤسسات العمومية للصحة الجوارية، هياكل إدارية).",
            ("registry",),
        ),
        Metric(
            "establishments_equipped",
            1,
            "establishments",
            "Établissements équipés",
            "المؤسسات المجهزة",
            "Établissements dont la dernière inspection (à la date considérée) a constaté l'équipement.",
            "المؤسسات التي أثبتت آخر معاينة لها (في التاريخ المعني) تجهيزها.",
            ("inspections",),
        ),
        Metric(
            "establishments_operating",
            1,
            "establishments",
            "Établissements en fonctionnement",
            "المؤسسات العاملة",
            "Un établissement fonctionne le jour J s'il a déjà eu une première utilisation réelle (ticket émis, "
            "appel, visite, admission aux urgences, séjour ouvert, ordonnance) au plus tard J, et si, le dernier "
            "jour ouvrable ≤ J (pour aujourd'hui : aujourd'hui ou le jour ouvrable précédent), ses terminaux ont "
            "émis des battements pendant les heures d'ouverture ou un autre événement y a eu lieu.",
            "تُعدّ المؤسسة عاملة في اليوم ي إذا سبق لها استعمال فعلي (تذكرة، نداء، زيارة، قبول استعجالي، فتح إقامة، "
            "وصفة) في اليوم ي أو قبله، وإذا أرسلت أجهزتها نبضات أثناء ساعات العمل أو وقع فيها حدث آخر في آخر يوم عمل ≤ ي.",
            ("queue.terminal.heartbeat", "queue.ticket.issued", "*"),
        ),
        Metric(
            "tickets_issued",
            1,
            "tickets",
            "Tickets émis",
            "التذاكر الصادرة",
            f"Événements queue.ticket.issued, {_DAY_FR}.",
            f"أحداث queue.ticket.issued، {_DAY_AR}.",
            ("queue.ticket.issued",),
        ),
        Metric(
            "tickets_called",
            1,
            "tickets",
            "Tickets appelés",
            "التذاكر المنادى عليها",
            "Tickets distincts appelés au moins une fois, comptés le jour de leur premier appel.",
            "التذاكر المختلفة المنادى عليها مرة على الأقل، تُحتسب في يوم أول نداء.",
            ("queue.ticket.called",),
        ),
        Metric(
            "calls",
            1,
            "calls",
            "Appels",
            "النداءات",
            f"Événements queue.ticket.called (un ticket remis en file peut être appelé de nouveau), {_DAY_FR}.",
            f"أحداث queue.ticket.called (قد يُنادى على التذكرة المعادة إلى الطابور مجددًا)، {_DAY_AR}.",
            ("queue.ticket.called",),
        ),
        Metric(
            "visits_completed",
            1,
            "services",
            "Patients servis",
            "المرضى المخدومون",
            f"Événements queue.visit.completed (fin d'un service), {_DAY_FR}.",
            f"أحداث queue.visit.completed (نهاية خدمة)، {_DAY_AR}.",
            ("queue.visit.completed",),
        ),
        Metric(
            "no_shows",
            1,
            "tickets",
            "Absents",
            "الغائبون",
            f"Événements queue.ticket.no_show sans remise en file (requeued = false), {_DAY_FR}.",
            f"أحداث queue.ticket.no_show دون إعادة إلى الطابور (requeued = false)، {_DAY_AR}.",
            ("queue.ticket.no_show",),
        ),
        Metric(
            "cancelled",
            1,
            "tickets",
            "Tickets annulés",
            "التذاكر الملغاة",
            f"Événements queue.ticket.cancelled, {_DAY_FR}.",
            f"أحداث queue.ticket.cancelled، {_DAY_AR}.",
            ("queue.ticket.cancelled",),
        ),
        Metric(
            "routed",
            1,
            "patients",
            "Patients orientés",
            "المرضى الموجَّهون",
            f"Événements queue.patient.routed, comptés au service de départ, {_DAY_FR}.",
            f"أحداث queue.patient.routed، تُحتسب في مصلحة الانطلاق، {_DAY_AR}.",
            ("queue.patient.routed",),
        ),
        Metric(
            "left_without_being_seen",
            1,
            "tickets",
            "Partis sans être vus",
            "غادروا دون فحص",
            "Tickets encore ouverts (en attente, appelés ou en service) à la clôture de leur "
            f"journée de service : événements queue.ticket.expired, {_DAY_FR}.",
            "تذاكر بقيت مفتوحة (في الانتظار أو منادى عليها أو قيد الخدمة) عند اختتام يوم "
            f"خدمتها: أحداث queue.ticket.expired، {_DAY_AR}.",
            ("queue.ticket.expired",),
        ),
        Metric(
            "wait_time",
            1,
            "minutes",
            "Attente (arrivée → appel)",
            "الانتظار (الوصول ← النداء)",
            "Par ticket : du moment de l'arrivée d'origine du patient (arrived_at de queue.ticket.issued, reporté "
            "sur les tickets d'orientation) au premier appel (occurred_at du premier queue.ticket.called) ; à "
            "défaut du ticket émis, le waited_seconds de l'appel. Médiane et 90e centile par interpolation "
            "linéaire, sur les tickets du jour de l'arrivée.",
            "لكل تذكرة: من وقت الوصول الأصلي للمريض (arrived_at في queue.ticket.issued، ويُنقل إلى تذاكر التوجيه) "
            "إلى أول نداء؛ وإن غاب حدث الإصدار فـ waited_seconds للنداء. الوسيط والمئين 90 بالاستكمال الخطي.",
            ("queue.ticket.issued", "queue.ticket.called"),
        ),
        Metric(
            "service_time",
            1,
            "minutes",
            "Durée de service",
            "مدة الخدمة",
            "service_seconds de queue.visit.completed (du début à la fin du service). Médiane et 90e centile.",
            "service_seconds في queue.visit.completed (من بداية الخدمة إلى نهايتها). الوسيط والمئين 90.",
            ("queue.visit.completed",),
        ),
        Metric(
            "busiest_hour",
            1,
            "hour",
            "Heure de pointe",
            "ساعة الذروة",
            "Heure locale (Alger) où le plus de tickets ont été émis sur la période.",
            "الساعة المحلية التي صدرت فيها أكبر عدد من التذاكر خلال الفترة.",
            ("queue.ticket.issued",),
        ),
        Metric(
            "er_arrivals",
            1,
            "patients",
            "Admissions aux urgences",
            "الاستقبالات في الاستعجالات",
            f"Événements emergency.visit.arrived, {_DAY_FR}.",
            f"أحداث emergency.visit.arrived، {_DAY_AR}.",
            ("emergency.visit.arrived",),
        ),
        Metric(
            "er_triage",
            1,
            "patients",
            "Admissions par niveau de tri",
            "الاستقبالات حسب مستوى الفرز",
            "Visites des urgences arrivées dans la période, par niveau du premier tri (1 à 5 ; « non trié »).",
            "زيارات الاستعجالات الواصلة خلال الفترة حسب مستوى أول فرز (1 إلى 5؛ «غير مفرز»).",
            ("emergency.visit.arrived", "emergency.visit.triaged"),
        ),
        Metric(
            "door_to_doctor",
            1,
            "minutes",
            "Délai porte → médecin",
            "المدة من الباب إلى الطبيب",
            "Par visite : de l'arrivée au premier examen médical (à défaut, minutes_since_arrival). Médiane, 90e centile.",
            "لكل زيارة: من الوصول إلى أول فحص طبي (وإلا minutes_since_arrival). الوسيط والمئين 90.",
            ("emergency.visit.arrived", "emergency.visit.seen_by_doctor"),
        ),
        Metric(
            "er_length_of_stay",
            1,
            "minutes",
            "Durée de séjour aux urgences",
            "مدة الإقامة في الاستعجالات",
            "length_of_stay_minutes du départ. Médiane, 90e centile, sur les visites arrivées dans la période.",
            "length_of_stay_minutes عند المغادرة. الوسيط والمئين 90.",
            ("emergency.visit.departed",),
        ),
        Metric(
            "er_disposition",
            1,
            "patients",
            "Orientation à la sortie des urgences",
            "مآل زيارات الاستعجالات",
            "Visites arrivées dans la période, par dernière décision d'orientation (dont « parti sans être vu »).",
            "الزيارات الواصلة خلال الفترة حسب آخر قرار توجيه (منها «غادر دون فحص»).",
            ("emergency.visit.disposition_decided", "emergency.visit.departed"),
        ),
        Metric(
            "appointments_booked",
            1,
            "appointments",
            "Rendez-vous pris",
            "المواعيد المحجوزة",
            f"Événements appointments.appointment.booked, {_DAY_FR}.",
            f"أحداث appointments.appointment.booked، {_DAY_AR}.",
            ("appointments.appointment.booked",),
        ),
        Metric(
            "appointments_attended",
            1,
            "appointments",
            "Rendez-vous honorés",
            "المواعيد المحترمة",
            f"Événements appointments.appointment.arrived, {_DAY_FR}.",
            f"أحداث appointments.appointment.arrived، {_DAY_AR}.",
            ("appointments.appointment.arrived",),
        ),
        Metric(
            "appointments_no_show",
            1,
            "appointments",
            "Rendez-vous manqués",
            "المواعيد الفائتة",
            f"Événements appointments.appointment.no_show, {_DAY_FR}.",
            f"أحداث appointments.appointment.no_show، {_DAY_AR}.",
            ("appointments.appointment.no_show",),
        ),
        Metric(
            "appointments_cancelled",
            1,
            "appointments",
            "Rendez-vous annulés",
            "المواعيد الملغاة",
            f"Événements appointments.appointment.cancelled, {_DAY_FR}.",
            f"أحداث appointments.appointment.cancelled، {_DAY_AR}.",
            ("appointments.appointment.cancelled",),
        ),
        Metric(
            "appointment_lead_time",
            1,
            "days",
            "Délai d'obtention du rendez-vous",
            "أجل الحصول على الموعد",
            "De la prise de rendez-vous au créneau réservé, pour les rendez-vous pris dans la période. Médiane, 90e centile.",
            "من الحجز إلى الموعد المحجوز، للمواعيد المحجوزة خلال الفترة. الوسيط والمئين 90.",
            ("appointments.appointment.booked",),
        ),
        Metric(
            "appointment_places_offered",
            1,
            "places",
            "Places offertes",
            "الأماكن المعروضة",
            "Places (patients) des plannings de spécialistes publiés, sur les jours de la période "
            "(la dernière révision de chaque planning fait foi).",
            "أماكن (مرضى) جداول الأخصائيين المنشورة، في أيام الفترة (تُعتمد آخر مراجعة لكل جدول).",
            ("appointments.schedule.published",),
        ),
        Metric(
            "appointment_places_booked",
            1,
            "appointments",
            "Places réservées",
            "الأماكن المحجوزة",
            "Rendez-vous non annulés dont le créneau (après reports) tombe un jour de la période.",
            "مواعيد غير ملغاة يقع موعدها (بعد التأجيلات) في يوم من أيام الفترة.",
            (
                "appointments.appointment.booked",
                "appointments.appointment.rescheduled",
                "appointments.appointment.cancelled",
            ),
        ),
        Metric(
            "appointment_places_honoured",
            1,
            "appointments",
            "Rendez-vous honorés",
            "المواعيد المحترمة",
            "Parmi les places réservées de la période, les rendez-vous dont le patient s'est "
            "présenté (appointments.appointment.arrived).",
            "من الأماكن المحجوزة في الفترة، المواعيد التي حضر أصحابها (appointments.appointment.arrived).",
            ("appointments.appointment.arrived",),
        ),
        Metric(
            "appointment_places_no_show",
            1,
            "appointments",
            "Rendez-vous manqués",
            "المواعيد الفائتة",
            "Parmi les places réservées de la période, les rendez-vous manqués "
            "(appointments.appointment.no_show, sans arrivée).",
            "من الأماكن المحجوزة في الفترة، المواعيد الفائتة (appointments.appointment.no_show دون حضور).",
            ("appointments.appointment.no_show",),
        ),
        Metric(
            "appointment_no_show_rate",
            1,
            "ratio",
            "Taux d'absence",
            "نسبة الغياب",
            "Rendez-vous manqués / (honorés + manqués), sur les places réservées de la période.",
            "المواعيد الفائتة / (المحترمة + الفائتة)، على الأماكن المحجوزة في الفترة.",
            ("appointments.appointment.arrived", "appointments.appointment.no_show"),
        ),
        Metric(
            "encounters_opened",
            1,
            "encounters",
            "Séjours / consultations ouverts",
            "الإقامات والفحوص المفتوحة",
            f"Événements records.encounter.opened par type, {_DAY_FR}.",
            f"أحداث records.encounter.opened حسب النوع، {_DAY_AR}.",
            ("records.encounter.opened",),
        ),
        Metric(
            "encounters_closed",
            1,
            "encounters",
            "Séjours clos",
            "الإقامات المغلقة",
            f"Événements records.encounter.closed (dont décès, transferts), {_DAY_FR}.",
            f"أحداث records.encounter.closed (منها الوفيات والتحويلات)، {_DAY_AR}.",
            ("records.encounter.closed",),
        ),
        Metric(
            "diagnoses",
            1,
            "diagnoses",
            "Diagnostics codés (CIM-10)",
            "التشخيصات المرمّزة",
            f"Événements records.diagnosis.recorded, {_DAY_FR}.",
            f"أحداث records.diagnosis.recorded، {_DAY_AR}.",
            ("records.diagnosis.recorded",),
        ),
        Metric(
            "prescriptions",
            1,
            "prescriptions",
            "Ordonnances électroniques",
            "الوصفات الإلكترونية",
            f"Ordonnances émises, délivrées et annulées, {_DAY_FR}.",
            f"الوصفات الصادرة والمسلَّمة والملغاة، {_DAY_AR}.",
            (
                "queue.prescription.issued",
                "queue.prescription.dispensed",
                "queue.prescription.cancelled",
            ),
        ),
        Metric(
            "silent",
            1,
            "establishments",
            "Établissements silencieux",
            "المؤسسات الصامتة",
            "Établissement équipé (ou ayant déjà fonctionné) sans aucun événement pendant ses heures "
            "d'ouverture depuis au moins N heures d'ouverture (N : REPORTING_SILENT_AFTER_HOURS), à la fin "
            "de la période (ou maintenant si elle est en cours).",
            "مؤسسة مجهزة (أو سبق أن عملت) دون أي حدث أثناء ساعات عملها منذ N ساعة عمل على الأقل، في نهاية الفترة.",
            ("*",),
        ),
        Metric(
            "completeness",
            1,
            "establishments",
            "Complétude",
            "الاكتمال",
            "Établissements attendus (équipés selon l'inspection ou ayant déjà fonctionné à la fin de la période) "
            "ayant transmis au moins un événement dans la période, rapportés au nombre attendu.",
            "المؤسسات المنتظرة (المجهزة أو التي سبق أن عملت) التي أرسلت حدثًا واحدًا على الأقل خلال الفترة، إلى عدد المنتظر.",
            ("*",),
        ),
        Metric(
            "freshness",
            1,
            "hours",
            "Fraîcheur des données",
            "حداثة البيانات",
            "Dernier événement reçu de chaque établissement (au plus tard à la fin de la période) et heures écoulées jusqu'à "
            "la fin de la période (ou maintenant si elle est en cours).",
            "آخر حدث وصل من كل مؤسسة والساعات المنقضية حتى نهاية الفترة.",
            ("*",),
        ),
    )
}


def refs(*ids: str) -> list[str]:
    return [METRICS[i].ref for i in ids]


def definitions(ids: list[str] | None = None) -> list[dict[str, object]]:
    chosen = METRICS.values() if ids is None else [METRICS[i] for i in ids]
    return [metric.as_dict() for metric in chosen]

"""What the queue's rules refuse. Each is a problem the API returns as is (409/422)."""

from __future__ import annotations

from sihha_kit.errors import BadRequest, Conflict

ACTIONS_FR = {
    "call": "appeler",
    "recall": "rappeler",
    "no_show": "déclarer absent",
    "start": "commencer",
    "complete": "terminer",
    "cancel": "annuler",
    "route": "orienter",
}
ACTIONS_AR = {
    "call": "مناداة",
    "recall": "إعادة المناداة",
    "no_show": "تسجيل الغياب",
    "start": "بدء الخدمة",
    "complete": "إنهاء الخدمة",
    "cancel": "إلغاء",
    "route": "توجيه",
}
STATUS_FR = {
    "waiting": "en attente",
    "called": "appelé",
    "in_service": "en cours de service",
    "completed": "terminé",
    "no_show": "absent",
    "cancelled": "annulé",
}
STATUS_AR = {
    "waiting": "في الانتظار",
    "called": "تمت مناداته",
    "in_service": "قيد الخدمة",
    "completed": "منتهٍ",
    "no_show": "غائب",
    "cancelled": "ملغى",
}


class IllegalTransition(Conflict):
    def __init__(self, label: str, action: str, status: str) -> None:
        super().__init__(
            "illegal-transition",
            f"Impossible de {ACTIONS_FR[action]} le ticket {label} : il est {STATUS_FR[status]}.",
            f"لا يمكن {ACTIONS_AR[action]} التذكرة {label}: حالتها {STATUS_AR[status]}.",
            action=action,
            current_status=status,
        )


class RecallWindowOpen(Conflict):
    def __init__(self, label: str, seconds_left: int) -> None:
        super().__init__(
            "recall-window-open",
            f"Le ticket {label} a été appelé il y a peu : attendez encore {seconds_left} s "
            "ou rappelez-le avant de le déclarer absent.",
            f"تمت مناداة التذكرة {label} منذ قليل: انتظر {seconds_left} ثانية أخرى "
            "أو أعد مناداتها قبل تسجيل الغياب.",
            seconds_left=seconds_left,
        )


class SameService(BadRequest):
    def __init__(self, service_code: str) -> None:
        super().__init__(
            "route-to-same-service",
            f"Le patient est déjà au service {service_code}.",
            f"المريض موجود بالفعل في المصلحة {service_code}.",
        )

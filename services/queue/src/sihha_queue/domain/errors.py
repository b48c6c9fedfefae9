"""What the queue's rules refuse. Each is a problem the API returns as is (409/422);
its text is in the service's message catalogue under its code."""

from __future__ import annotations

from sihha_kit.errors import BadRequest, Conflict
from sihha_kit.i18n import N_, Message

#: the catalogue key of each action and status named in a refusal (the statuses' keys
#: are the pages' own)
ACTIONS = {
    "call": N_("ticket.action.call"),
    "recall": N_("ticket.action.recall"),
    "no_show": N_("ticket.action.no_show"),
    "start": N_("ticket.action.start"),
    "complete": N_("ticket.action.complete"),
    "cancel": N_("ticket.action.cancel"),
    "route": N_("ticket.action.route"),
    "expire": N_("ticket.action.expire"),
}
STATUSES = {
    "waiting": N_("status_waiting"),
    "called": N_("status_called"),
    "in_service": N_("status_in_service"),
    "completed": N_("status_completed"),
    "no_show": N_("status_no_show"),
    "cancelled": N_("status_cancelled"),
    "expired": N_("status_expired"),
}


class IllegalTransition(Conflict):
    def __init__(self, label: str, action: str, status: str) -> None:
        super().__init__(
            "illegal-transition",
            params={
                "label": label,
                "action_text": Message(ACTIONS[action]),
                "status_text": Message(STATUSES[status]),
            },
            action=action,
            current_status=status,
        )


class RecallWindowOpen(Conflict):
    def __init__(self, label: str, seconds_left: int) -> None:
        super().__init__("recall-window-open", params={"label": label}, seconds_left=seconds_left)


class SameService(BadRequest):
    def __init__(self, service_code: str) -> None:
        super().__init__("route-to-same-service", params={"service_code": service_code})

"""`python -m sihha_appointments`: serve the appointments service (APPOINTMENTS_* settings).
`python -m sihha_appointments relay`: its outbox relay alone, for serving processes started
with `APPOINTMENTS_OUTBOX_RELAY=separate` (`sihha_kit.runtime.run_relay`).
`python -m sihha_appointments declare-inboxes`: declare the service's inbox (queue,
bindings, dead-letter path) and apply its policy where it may, then exit: run once before
any producer starts (`sihha_kit.runtime.declare_inboxes`, docs/messaging.md point 6);
exits 1, with an `inboxes.not_declared` log line, if the broker does not accept it in
`APPOINTMENTS_DECLARE_INBOXES_TIMEOUT_SECONDS`. Needs the broker only, not the database
(but the service's keys, as serving does: its context is built to know its consumer).
"""

import sys

from sihha_appointments.bootstrap import build_context, create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.runtime import declare_inboxes_main, relay_main
from sihha_kit.serve import serve

if __name__ == "__main__":
    settings = AppointmentsSettings()
    if sys.argv[1:] == ["relay"]:
        relay_main(settings)
    elif sys.argv[1:] == ["declare-inboxes"]:
        raise SystemExit(declare_inboxes_main(settings, lambda: build_context(settings).runtime))
    elif sys.argv[1:]:
        raise SystemExit(
            "usage: python -m sihha_appointments [relay | declare-inboxes] "
            f"(not {' '.join(sys.argv[1:])})"
        )
    else:
        serve(create_app(settings), settings)

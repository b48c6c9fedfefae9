"""`make demo`: start the platform and show it doing its work.

Clinic terminals of Oran's polyclinics issue tickets through the queue
service's public API; the events travel through the outbox and RabbitMQ to the
reporting service, whose tickets-per-day figures are printed beside the queue
service's own counts (they must agree exactly).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from sihha_kit.auth import Role, TokenIssuer
from sihha_kit.registry import load_registry
from sihha_runner.launcher import Platform, platform, print_urls


def issue_tickets(running: Platform, issuer: TokenIssuer, patients: int, seed: int) -> Counter[str]:
    registry = load_registry()
    clinics = [c.code for c in registry.polyclinics][:32]
    services = [s.code for s in registry.polyclinic_services]
    rng = random.Random(seed)
    issued: Counter[str] = Counter()
    tokens = {c: issuer.mint(f"kiosk:{c}:1", [Role.kiosk], [c]) for c in clinics}
    base = running.url("queue")
    with httpx.Client(base_url=base, timeout=10) as client:
        for n in range(patients):
            clinic = rng.choice(clinics)
            body = {
                "service_code": rng.choice(services),
                "channel": "kiosk",
                "priority": rng.choices(
                    ["normal", "elderly", "pregnant", "disability", "urgent"], [80, 10, 5, 3, 2]
                )[0],
            }
            response = client.post(
                f"/establishments/{clinic}/tickets",
                json=body,
                headers={"Authorization": f"Bearer {tokens[clinic]}"},
            )
            response.raise_for_status()
            issued[clinic] += 1
            if (n + 1) % 50 == 0 or n + 1 == patients:
                bar = "#" * int(30 * (n + 1) / patients)
                print(f"\r  tickets issued [{bar:<30}] {n + 1}/{patients}", end="", flush=True)
    print()
    return issued


def reported_counts(running: Platform, token: str) -> dict[str, int]:
    response = httpx.get(
        running.url("reporting") + "/activity/tickets-per-day",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    counts: Counter[str] = Counter()
    for row in response.json():
        counts[row["facility_id"]] += row["tickets_issued"]
    return dict(counts)


def source_counts(running: Platform, token: str) -> dict[str, int]:
    response = httpx.get(
        running.url("queue") + "/counts/tickets-issued",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    counts: Counter[str] = Counter()
    for row in response.json():
        counts[row["facility_id"]] += row["tickets_issued"]
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sihha-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=400)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--exit", action="store_true", help="stop the platform at the end")
    args = parser.parse_args(argv)

    with platform(log_dir=Path("out/logs")) as running:
        print_urls(running)
        keys = running.config.keys_dir
        issuer = TokenIssuer.from_file(keys / "jwt-private.pem")
        group = issuer.mint("wilaya-group:demo", [Role.wilaya_group], ["*"])
        issued = issue_tickets(running, issuer, args.patients, args.seed)

        deadline = time.monotonic() + 60
        before = {}
        while time.monotonic() < deadline:
            reported = reported_counts(running, group)
            if sum(reported.values()) >= sum(before.values()) + sum(issued.values()):
                break
            time.sleep(0.3)
        source = source_counts(running, group)
        reported = reported_counts(running, group)
        print("\nTickets per establishment today / التذاكر حسب المؤسسة اليوم")
        print(f"  {'establishment':<12} {'queue':>7} {'report':>7}")
        for code in sorted(source):
            print(f"  {code:<12} {source[code]:>7} {reported.get(code, 0):>7}")
        differences = {c for c in set(source) | set(reported) if source.get(c) != reported.get(c)}
        print(f"\nReconciliation / المطابقة: {len(differences)} difference(s)")
        if differences:
            return 1
        if not args.exit:
            print("Services keep running; Ctrl-C to stop / للإيقاف Ctrl-C")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `sihha-dev` command line (see `sihha_kit.devtools`)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from sihha_kit.auth.keys import (
    generate_private_key,
    private_key_set_document,
    public_key_set_document,
    read_private_key_set,
)
from sihha_kit.auth.revocation import Revocations, parse_revocations, revocations_document
from sihha_kit.auth.roles import TERMINAL_ROLES, Role
from sihha_kit.auth.verification import DEFAULT_AUDIENCE
from sihha_kit.devtools.tokens import (
    DEFAULT_ISSUER,
    PRIVATE_KEY_SET_FILE,
    PUBLIC_KEY_SET_FILE,
    TokenIssuer,
)
from sihha_kit.pseudonym import load_pseudonym_key, pseudonymise_nin, validate_nin

DEFAULT_DIR = Path(".dev/keys")
PSEUDONYM_KEY_FILE = "pseudonym.key"
REVOCATIONS_FILE = "revoked.json"
SIGNING_KEYS_SUFFIX = "-signing.json"
DEVICE_KEY_SUFFIX = "-device.key"
#: the services that sign tokens of their own (terminal tokens, citizen tokens)
TOKEN_SIGNING_SERVICES = ("queue", "appointments")
SECRET_KEY_BYTES = 32

PROG = "sihha-dev"


class _UsageError(Exception):
    """Invalid arguments: exit status 2."""


class _KeyFileError(Exception):
    """Missing or inconsistent key files, or a refusal: exit status 1."""


def _write_file(path: Path, data: bytes, *, mode: int, replace: bool) -> None:
    """Create `path` with `mode` from the start (never world-readable, even briefly)."""
    if replace:
        path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # the umask may have removed bits we asked for


def _json(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _key_set(directory: Path, force: bool) -> int:
    private_path = directory / PRIVATE_KEY_SET_FILE
    public_path = directory / PUBLIC_KEY_SET_FILE
    if force or not (private_path.exists() or public_path.exists()):
        key = generate_private_key()
        _write_file(private_path, _json(private_key_set_document([key])), mode=0o600, replace=True)
        print(
            f"wrote {private_path} (issuer {DEFAULT_ISSUER}: RSA-2048 private key set, mode 0600)"
        )
        pairs = read_private_key_set(private_path)
        _write_file(public_path, _json(public_key_set_document(pairs)), mode=0o644, replace=True)
        print(f"wrote {public_path} (its public key set, kid {pairs[0][0]})")
    elif private_path.exists() and not public_path.exists():
        pairs = read_private_key_set(private_path)
        _write_file(public_path, _json(public_key_set_document(pairs)), mode=0o644, replace=False)
        print(f"kept {private_path} (exists)")
        print(f"wrote {public_path} (derived from the existing private key set)")
    elif public_path.exists() and not private_path.exists():
        print(
            f"{PROG} keys: error: {public_path} exists without {private_path}; "
            "use --force to replace the pair",
            file=sys.stderr,
        )
        return 1
    else:
        print(f"kept {private_path} and {public_path} (exist; --force replaces them)")
    return 0


def _secret_file(path: Path, force: bool, what: str) -> None:
    if force or not path.exists():
        text = secrets.token_hex(SECRET_KEY_BYTES) + "\n"
        _write_file(path, text.encode("ascii"), mode=0o600, replace=True)
        print(f"wrote {path} ({what}, {SECRET_KEY_BYTES} bytes, hex)")
    else:
        print(f"kept {path} (exists; --force replaces it)")


def _keys(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    force: bool = args.force
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    status = _key_set(directory, force)
    revocations = directory / REVOCATIONS_FILE
    if not revocations.exists():
        revocations.write_bytes(_json(revocations_document(Revocations())))
        print(f"wrote {revocations} (an empty revocation list; `{PROG} revoke` adds to it)")
    _secret_file(directory / PSEUDONYM_KEY_FILE, force, "pseudonym HMAC key")
    for name in args.issuers or TOKEN_SIGNING_SERVICES:
        signing = directory / f"{name}{SIGNING_KEYS_SUFFIX}"
        if force or not signing.exists():
            document = private_key_set_document([generate_private_key()])
            _write_file(signing, _json(document), mode=0o600, replace=True)
            print(f"wrote {signing} (service {name}: signing key set, mode 0600)")
        else:
            print(f"kept {signing} (exists)")
        _secret_file(
            directory / f"{name}{DEVICE_KEY_SUFFIX}", force, f"{name}: device-credential key"
        )
    return status


def dev_environment(prefix: str, directory: Path, *, issuer: str | None = None) -> dict[str, str]:
    """The environment variables that make a service (``QUEUE_``…) use the development
    keys in `directory`: trust the ``sihha-dev`` key set, read its revocation list, and
    for a token-signing service (`issuer`: its name) sign with its own keys."""
    trusted = [{"issuer": DEFAULT_ISSUER, "jwks": str(directory / PUBLIC_KEY_SET_FILE)}]
    env = {
        f"{prefix}TRUSTED_ISSUERS": json.dumps(trusted),
        f"{prefix}REVOCATION_LISTS": json.dumps([str(directory / REVOCATIONS_FILE)]),
    }
    if issuer is not None:
        env[f"{prefix}SIGNING_KEYS_PATH"] = str(directory / f"{issuer}{SIGNING_KEYS_SUFFIX}")
        env[f"{prefix}DEVICE_CREDENTIAL_KEY_PATH"] = str(directory / f"{issuer}{DEVICE_KEY_SUFFIX}")
    return env


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise _KeyFileError(f"{path} not found: run `{PROG} keys --dir {path.parent}` first")
    return path


def _issuer(
    directory: Path, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE
) -> TokenIssuer:
    return TokenIssuer.from_file(
        _require_file(directory / PRIVATE_KEY_SET_FILE), issuer=issuer, audience=audience
    )


def _token(args: argparse.Namespace) -> int:
    roles: list[str] = args.roles
    establishments: list[str] = args.establishments or []
    if args.ttl_hours <= 0:
        raise _UsageError("--ttl-hours must be positive")
    patient_key: str | None = args.patient_key
    if args.nin is not None:
        key = load_pseudonym_key(_require_file(args.dir / PSEUDONYM_KEY_FILE))
        try:
            patient_key = pseudonymise_nin(args.nin, key)
        except ValueError as error:
            raise _UsageError(str(error)) from None
    subject: str | None = args.subject
    if subject is None:
        if roles in ([Role.kiosk.value], [Role.display.value]) and establishments:
            subject = f"{roles[0]}:{establishments[0]}"
        else:
            subject = "dev:" + "+".join(roles)
    issuer = _issuer(args.dir, args.issuer, args.audience)
    try:
        token = issuer.mint(
            subject,
            roles,
            establishments,
            patient_key=patient_key,
            ttl=timedelta(hours=args.ttl_hours),
        )
    except ValueError as error:
        raise _UsageError(str(error)) from None
    print(token)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    path: Path = args.dir / REVOCATIONS_FILE
    current = Revocations()
    if path.is_file():
        try:
            current = parse_revocations(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as error:
            raise _KeyFileError(f"{path}: {error}") from None
    now = time.time()
    if args.jti is not None:
        if args.expires is not None:
            try:
                until = datetime.fromisoformat(args.expires)
            except ValueError as error:
                raise _UsageError(f"--expires: {error}") from None
            if until.tzinfo is None:
                raise _UsageError("--expires needs a time zone, e.g. 2026-12-15T10:00:00+01:00")
        else:
            until = datetime.now(UTC) + timedelta(days=1)
        added = Revocations(tokens={args.jti: until.timestamp()})
        what = f"token {args.jti} (until {until.isoformat(timespec='seconds')})"
    else:
        added = Revocations(subjects={args.subject: now})
        what = f"every token of {args.subject} issued until now"
    document = revocations_document(current.merged(added), now=now)
    args.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(_json(document))
    temporary.replace(path)  # services never read half a file
    print(f"revoked {what} in {path}", file=sys.stderr)
    return 0


def _enrol(args: argparse.Namespace) -> int:
    issuer = _issuer(args.dir)
    it_unit = issuer.mint(
        "dev:it_unit", [Role.it_unit], [args.establishment], ttl=timedelta(minutes=5)
    )
    base = args.service.rstrip("/")
    with httpx.Client(timeout=10) as client:
        try:
            response = client.post(
                f"{base}/auth/terminals",
                json={"facility_id": args.establishment, "role": args.role, "label": args.label},
                headers={"authorization": f"Bearer {it_unit}"},
            )
            if response.status_code != 201:
                raise _KeyFileError(f"{base} refused: {response.status_code} {response.text[:300]}")
            enrolment = response.json()
            if not args.claim:
                print(enrolment["enrolment_code"])
                print(
                    f"terminal {enrolment['terminal_id']} ({args.role}, {args.establishment}); "
                    f"the code works once, until {enrolment['enrolment_expires_at']}",
                    file=sys.stderr,
                )
                return 0
            claimed = client.post(
                f"{base}/auth/terminals/enrol",
                json={"enrolment_code": enrolment["enrolment_code"]},
            )
            if claimed.status_code != 200:
                raise _KeyFileError(
                    f"{base} refused the claim: {claimed.status_code} {claimed.text[:300]}"
                )
        except httpx.HTTPError as error:
            raise _KeyFileError(f"{base}: {type(error).__name__}: {error}") from None
    print(claimed.json()["device_credential"])
    return 0


def _pseudonym(args: argparse.Namespace) -> int:
    raw = " ".join(args.nin)
    if raw.strip() == "-":
        raw = sys.stdin.readline()
    try:
        nin = validate_nin(raw)
    except ValueError as error:
        raise _UsageError(str(error)) from None
    key = load_pseudonym_key(_require_file(args.dir / PSEUDONYM_KEY_FILE))
    print(pseudonymise_nin(nin, key))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Sihha developer tools: keys, tokens, revocations, terminals, pseudonyms.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def dir_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--dir",
            type=Path,
            default=DEFAULT_DIR,
            help=f"directory of the development keys (default: {DEFAULT_DIR})",
        )

    keys = commands.add_parser("keys", help="create the development keys if missing")
    dir_option(keys)
    keys.add_argument("--force", action="store_true", help="replace existing keys")
    keys.add_argument(
        "--issuer",
        dest="issuers",
        action="append",
        metavar="NAME",
        help="a service that signs tokens, whose signing and device keys to create; repeat "
        f"for several (default: {', '.join(TOKEN_SIGNING_SERVICES)})",
    )
    keys.set_defaults(handler=_keys)

    role_names = [role.value for role in Role]
    token = commands.add_parser("token", help="print a signed token on stdout")
    token.add_argument(
        "--role",
        dest="roles",
        action="append",
        required=True,
        choices=role_names,
        metavar="ROLE",
        help="a role of the caller; repeat for several (" + ", ".join(role_names) + ")",
    )
    token.add_argument(
        "--establishment",
        dest="establishments",
        action="extend",
        nargs="+",
        metavar="CODE",
        help='establishment codes the caller may act for, e.g. 31-PC-001; "*" = all '
        "(wilaya_group, it_unit, ministry, admin)",
    )
    token.add_argument(
        "--subject", help="the sub claim (default: kiosk:/display:<establishment> or dev:<roles>)"
    )
    patient = token.add_mutually_exclusive_group()
    patient.add_argument("--patient-key", help="a citizen's pseudonymous key (64 hex digits)")
    patient.add_argument("--nin", help="a citizen's NIN, pseudonymised with pseudonym.key")
    token.add_argument(
        "--ttl-hours", type=float, default=12.0, help="validity in hours (default: 12)"
    )
    token.add_argument("--issuer", default=DEFAULT_ISSUER, help=f"default: {DEFAULT_ISSUER}")
    token.add_argument("--audience", default=DEFAULT_AUDIENCE, help=f"default: {DEFAULT_AUDIENCE}")
    dir_option(token)
    token.set_defaults(handler=_token)

    revoke = commands.add_parser("revoke", help="revoke a token or a subject (revoked.json)")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--jti", help="the id of one token")
    target.add_argument("--subject", help="every token of this subject issued until now")
    revoke.add_argument("--expires", help="for --jti: when the token expires (ISO 8601, with zone)")
    dir_option(revoke)
    revoke.set_defaults(handler=_revoke)

    enrol = commands.add_parser("enrol", help="enrol a clinic terminal with a service")
    enrol.add_argument(
        "--service", required=True, help="the service's URL, e.g. http://127.0.0.1:8101"
    )
    enrol.add_argument("--establishment", required=True, metavar="CODE")
    enrol.add_argument(
        "--role", required=True, choices=sorted(role.value for role in TERMINAL_ROLES)
    )
    enrol.add_argument("--label", default="dev terminal", help="what the IT unit calls it")
    enrol.add_argument(
        "--claim", action="store_true", help="claim the code at once; print the device credential"
    )
    dir_option(enrol)
    enrol.set_defaults(handler=_enrol)

    pseudonym = commands.add_parser("pseudonym", help="print the pseudonymous patient key of a NIN")
    pseudonym.add_argument(
        "nin", nargs="+", metavar="NIN", help='18 digits (spaces allowed); "-" reads stdin'
    )
    dir_option(pseudonym)
    pseudonym.set_defaults(handler=_pseudonym)

    policies = commands.add_parser(
        "broker-policies",
        help="print the rabbitmqctl commands that apply the inboxes' policies "
        "(for brokers the services may not administer: BROKER_ADMIN=none)",
    )
    policies.add_argument(
        "consumer", nargs="+", help="consuming services, e.g. reporting queue appointments"
    )
    policies.add_argument("--namespace", default="", help="the services' BROKER_NAMESPACE")
    policies.add_argument("--delivery-limit", type=int, default=5, help="default: 5")
    policies.add_argument("--vhost", default="/", help="default: /")
    policies.set_defaults(handler=_broker_policies)
    return parser


def _broker_policies(args: argparse.Namespace) -> int:
    import shlex

    from sihha_kit.broker import Topology
    from sihha_kit.broker_admin import inbox_policy

    if args.delivery_limit < 1:
        raise _UsageError("--delivery-limit must be at least 1")
    for consumer in args.consumer:
        policy = inbox_policy(Topology(args.namespace), consumer, args.delivery_limit)
        print(shlex.join(["rabbitmqctl", *policy.rabbitmqctl_args(args.vhost)]))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except _UsageError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (_KeyFileError, ValueError, OSError) as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 1
    return status

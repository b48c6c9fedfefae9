"""Developer tools: `sihha-dev` (or `python -m sihha_kit.devtools`).

    sihha-dev keys [--dir .dev/keys] [--force]
        Create the development RSA-2048 key pair (jwt-private.pem, mode 0600, and
        jwt-public.pem) and the pseudonym HMAC key (pseudonym.key: 32 random bytes
        as hex, mode 0600), each only if missing unless --force.

    sihha-dev token --role ROLE [--role ROLE ...] [--establishment CODE ...]
                    [--subject S] [--patient-key K | --nin NIN] [--ttl-hours H]
                    [--issuer I] [--audience A] [--dir .dev/keys]
        Print a signed token on stdout (and nothing else), e.g.
        ``TOKEN=$(sihha-dev token --role kiosk --establishment 31-PC-001)``.

    sihha-dev pseudonym NIN [--dir .dev/keys]
        Print the pseudonymous patient key of an 18-digit NIN ("-" reads it from
        standard input, which keeps it out of the shell history).

Exit status: 0 on success, 1 when key files are missing or inconsistent,
2 for invalid arguments. Messages other than results go to stderr.
These keys are for development and tests only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sihha_kit.auth import (
    DEFAULT_AUDIENCE,
    DEFAULT_ISSUER,
    Role,
    TokenIssuer,
    load_private_key,
)
from sihha_kit.pseudonym import load_pseudonym_key, pseudonymise_nin, validate_nin

__all__ = ["PRIVATE_KEY_FILE", "PSEUDONYM_KEY_FILE", "PUBLIC_KEY_FILE", "main"]

DEFAULT_DIR = Path(".dev/keys")
PRIVATE_KEY_FILE = "jwt-private.pem"
PUBLIC_KEY_FILE = "jwt-public.pem"
PSEUDONYM_KEY_FILE = "pseudonym.key"
RSA_BITS = 2048
PSEUDONYM_KEY_BYTES = 32

PROG = "sihha-dev"


class _UsageError(Exception):
    """Invalid arguments: exit status 2."""


class _KeyFileError(Exception):
    """Missing or inconsistent key files: exit status 1."""


def _write_file(path: Path, data: bytes, *, mode: int, replace: bool) -> None:
    """Create `path` with `mode` from the start (never world-readable, even briefly)."""
    if replace:
        path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # the umask may have removed bits we asked for


def _public_pem(private_key: RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _keys(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    force: bool = args.force
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = directory / PRIVATE_KEY_FILE
    public_path = directory / PUBLIC_KEY_FILE
    pseudonym_path = directory / PSEUDONYM_KEY_FILE
    status = 0

    if force or not (private_path.exists() or public_path.exists()):
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        private_pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_file(private_path, private_pem, mode=0o600, replace=True)
        print(f"wrote {private_path} (RSA-{RSA_BITS} private key, mode 0600)")
        _write_file(public_path, _public_pem(private_key), mode=0o644, replace=True)
        print(f"wrote {public_path} (RSA-{RSA_BITS} public key)")
    elif private_path.exists() and not public_path.exists():
        _write_file(
            public_path, _public_pem(load_private_key(private_path)), mode=0o644, replace=False
        )
        print(f"kept {private_path} (exists)")
        print(f"wrote {public_path} (derived from the existing private key)")
    elif public_path.exists() and not private_path.exists():
        print(
            f"{PROG} keys: error: {public_path} exists without {private_path}; "
            "use --force to replace the pair",
            file=sys.stderr,
        )
        status = 1
    else:
        print(f"kept {private_path} and {public_path} (exist; --force replaces them)")

    if force or not pseudonym_path.exists():
        key_text = secrets.token_hex(PSEUDONYM_KEY_BYTES) + "\n"
        _write_file(pseudonym_path, key_text.encode("ascii"), mode=0o600, replace=True)
        print(f"wrote {pseudonym_path} (pseudonym HMAC key, {PSEUDONYM_KEY_BYTES} bytes, hex)")
    else:
        print(f"kept {pseudonym_path} (exists; --force replaces it)")
    return status


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise _KeyFileError(f"{path} not found: run `{PROG} keys --dir {path.parent}` first")
    return path


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
        if roles == [Role.kiosk.value] and establishments:
            subject = f"kiosk:{establishments[0]}"
        else:
            subject = "dev:" + "+".join(roles)
    issuer = TokenIssuer.from_file(
        _require_file(args.dir / PRIVATE_KEY_FILE), issuer=args.issuer, audience=args.audience
    )
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
        prog=PROG, description="Sihha developer tools: keys, tokens, pseudonyms."
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
        "--subject", help="the sub claim (default: kiosk:<establishment> or dev:<roles>)"
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


if __name__ == "__main__":
    raise SystemExit(main())

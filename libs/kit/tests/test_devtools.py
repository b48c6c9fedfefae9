"""The `sihha-dev` command line: keys, tokens, revocations, pseudonyms."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from sihha_kit.auth import (
    Caller,
    IssuerKeys,
    RevocationList,
    Role,
    TokenSigner,
    TokenVerifier,
    TrustedIssuer,
)
from sihha_kit.devtools import main
from sihha_kit.pseudonym import load_pseudonym_key, pseudonymise_nin

NIN = "109870123456789012"


def _verifier(key_dir: Path, issuer: str = "sihha-dev", audience: str = "sihha") -> TokenVerifier:
    """What a service configured with these development keys checks tokens with."""
    verifier = TokenVerifier(
        [IssuerKeys(TrustedIssuer(issuer=issuer, jwks=str(key_dir / "jwks.json")))],
        audience=audience,
        revocations=RevocationList([str(key_dir / "revoked.json")]),
    )
    verifier.load_now()
    return verifier


async def _verify(key_dir: Path, token: str, **options: str) -> Caller:
    return await _verifier(key_dir, **options).verify(token)


@pytest.fixture
def key_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    directory = tmp_path / "keys"
    assert main(["keys", "--dir", str(directory)]) == 0
    capsys.readouterr()
    return directory


def _token(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["token", *args]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1, "only the token on stdout"
    return out.strip()


def test_keys_creates_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "nested" / "keys"
    assert main(["keys", "--dir", str(directory)]) == 0
    out = capsys.readouterr().out
    secret = (
        "jwks-private.json",
        "pseudonym.key",
        "queue-signing.json",
        "queue-device.key",
        "appointments-signing.json",
        "appointments-device.key",
    )
    assert json.loads((directory / "revoked.json").read_text()) == {"tokens": {}, "subjects": {}}
    for name in (*secret, "jwks.json", "revoked.json"):
        assert (directory / name).is_file()
        assert f"wrote {directory / name}" in out
    for name in secret:
        assert stat.S_IMODE(os.stat(directory / name).st_mode) == 0o600, name
    private = json.loads((directory / "jwks-private.json").read_text())["keys"][0]
    public = json.loads((directory / "jwks.json").read_text())["keys"]
    assert "d" in private and [k["kid"] for k in public] == [private["kid"]]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(public[0])
    hex_key = (directory / "pseudonym.key").read_text().strip()
    assert len(hex_key) == 64 and int(hex_key, 16) >= 0
    assert len(load_pseudonym_key(directory / "pseudonym.key")) == 32
    _verifier(directory)  # a valid key set
    signer = TokenSigner.from_file(directory / "queue-signing.json", issuer="sihha-queue")
    assert signer.key_id != private["kid"], "each issuer its own key"


def test_keys_does_not_overwrite_without_force(
    key_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p.name: p.read_bytes() for p in key_dir.iterdir()}
    assert main(["keys", "--dir", str(key_dir)]) == 0
    assert "kept" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in key_dir.iterdir()} == before

    assert main(["keys", "--dir", str(key_dir), "--force"]) == 0
    after = {p.name: p.read_bytes() for p in key_dir.iterdir()}
    assert all(after[name] != before[name] for name in before if name != "revoked.json")
    assert after["revoked.json"] == before["revoked.json"], "--force revokes nothing anew"
    assert stat.S_IMODE(os.stat(key_dir / "jwks-private.json").st_mode) == 0o600


def test_keys_for_other_token_signing_services(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "--dir", str(tmp_path), "--issuer", "records"]) == 0
    assert (tmp_path / "records-signing.json").is_file()
    assert (tmp_path / "records-device.key").is_file()
    assert not (tmp_path / "queue-signing.json").exists()


def test_keys_derives_a_missing_public_key(
    key_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = (key_dir / "jwks.json").read_bytes()
    (key_dir / "jwks.json").unlink()
    assert main(["keys", "--dir", str(key_dir)]) == 0
    assert "derived" in capsys.readouterr().out
    assert (key_dir / "jwks.json").read_bytes() == public


def test_keys_refuses_a_public_key_without_its_private_key(
    key_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (key_dir / "jwks-private.json").unlink()
    assert main(["keys", "--dir", str(key_dir)]) == 1
    assert "--force" in capsys.readouterr().err


async def test_token_round_trips(key_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = _token(capsys, "--role", "kiosk", "--establishment", "31-PC-001", "--dir", str(key_dir))
    assert jwt.get_unverified_header(token)["kid"]
    caller = await _verify(key_dir, token)
    assert caller.roles == {Role.kiosk}
    assert caller.establishments == {"31-PC-001"}
    assert caller.subject == "kiosk:31-PC-001"
    assert caller.may_act_for("31-PC-001") and not caller.may_act_for("31-PC-002")


async def test_token_with_several_roles_and_establishments(
    key_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token(
        capsys,
        "--role", "receptionist",
        "--role", "counter_agent",
        "--establishment", "31-PC-001", "31-PC-002",
        "--establishment", "31-EPH-01",
        "--subject", "agent-12",
        "--ttl-hours", "1",
        "--dir", str(key_dir),
    )  # fmt: skip
    caller = await _verify(key_dir, token)
    assert caller.subject == "agent-12"
    assert caller.roles == {Role.receptionist, Role.counter_agent}
    assert caller.establishments == {"31-PC-001", "31-PC-002", "31-EPH-01"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600


async def test_token_for_a_citizen(key_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    verifier = _verifier(key_dir)
    expected = pseudonymise_nin(NIN, load_pseudonym_key(key_dir / "pseudonym.key"))
    by_nin = _token(capsys, "--role", "citizen", "--nin", NIN, "--dir", str(key_dir))
    assert (await verifier.verify(by_nin)).patient_key == expected
    by_key = _token(capsys, "--role", "citizen", "--patient-key", expected, "--dir", str(key_dir))
    assert (await verifier.verify(by_key)).patient_key == expected


async def test_token_issuer_and_audience(key_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = _token(
        capsys, "--role", "admin", "--establishment", "*",
        "--issuer", "sihha-staging", "--audience", "sihha-x", "--dir", str(key_dir),
    )  # fmt: skip
    caller = await _verify(key_dir, token, issuer="sihha-staging", audience="sihha-x")
    assert caller.wilaya_wide


async def test_revoke_a_token_then_a_subject(
    key_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    verifier = _verifier(key_dir)
    token = _token(
        capsys, "--role", "doctor", "--establishment", "31-PC-001", "--dir", str(key_dir)
    )
    other = _token(capsys, "--role", "nurse", "--subject", "nurse-4", "--dir", str(key_dir))
    await verifier.verify(token)
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert main(["revoke", "--jti", jti, "--dir", str(key_dir)]) == 0
    assert jti in capsys.readouterr().err
    await verifier.refresh()
    with pytest.raises(Exception, match="token-revoked"):
        await verifier.verify(token)
    assert (await verifier.verify(other)).subject == "nurse-4"

    assert main(["revoke", "--subject", "nurse-4", "--dir", str(key_dir)]) == 0
    await verifier.refresh()
    with pytest.raises(Exception, match="token-revoked"):
        await verifier.verify(other)
    document = json.loads((key_dir / "revoked.json").read_text())
    assert set(document["tokens"]) == {jti} and set(document["subjects"]) == {"nurse-4"}
    # an expired entry goes at the next revocation
    assert main(["revoke", "--jti", "old", "--expires", "2020-01-01T00:00:00+00:00",
                 "--dir", str(key_dir)]) == 0  # fmt: skip
    assert main(["revoke", "--jti", "new", "--dir", str(key_dir)]) == 0
    assert set(json.loads((key_dir / "revoked.json").read_text())["tokens"]) == {jti, "new"}
    assert main(["revoke", "--jti", "x", "--expires", "tomorrow", "--dir", str(key_dir)]) == 2


def test_token_refuses_unknown_roles(key_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "--role", "superuser", "--dir", str(key_dir)])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "superuser" in captured.err


@pytest.mark.parametrize(
    "args",
    [
        ["--role", "citizen"],  # a citizen needs a patient key
        ["--role", "doctor", "--patient-key", "ab" * 32],
        ["--role", "citizen", "--patient-key", "not-hex"],
        ["--role", "citizen", "--nin", "123"],
        ["--role", "doctor", "--ttl-hours", "0"],
        ["--role", "doctor", "--subject", " "],
    ],
)
def test_token_refuses_inconsistent_claims(
    key_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["token", *args, "--dir", str(key_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error" in captured.err


def test_token_without_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "doctor", "--dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "sihha-dev keys" in captured.err


def test_pseudonym(key_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = pseudonymise_nin(NIN, load_pseudonym_key(key_dir / "pseudonym.key"))
    assert main(["pseudonym", NIN, "--dir", str(key_dir)]) == 0
    assert capsys.readouterr().out == expected + "\n"
    assert main(["pseudonym", "109870", "123456", "789012", "--dir", str(key_dir)]) == 0
    assert capsys.readouterr().out == expected + "\n"


def test_pseudonym_from_stdin(
    key_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(NIN + "\n"))
    expected = pseudonymise_nin(NIN, load_pseudonym_key(key_dir / "pseudonym.key"))
    assert main(["pseudonym", "-", "--dir", str(key_dir)]) == 0
    assert capsys.readouterr().out == expected + "\n"


@pytest.mark.parametrize("nin", ["12345678901234567", "10987012345678901X", "١٠٩٨٧٠١٢٣٤٥٦٧٨٩٠١٢"])
def test_pseudonym_refuses_invalid_nin(
    key_dir: Path, capsys: pytest.CaptureFixture[str], nin: str
) -> None:
    assert main(["pseudonym", nin, "--dir", str(key_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "18" in captured.err
    assert nin not in captured.err


def test_pseudonym_without_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pseudonym", NIN, "--dir", str(tmp_path)]) == 1
    assert "sihha-dev keys" in capsys.readouterr().err


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2


async def test_runs_as_a_module(key_dir: Path) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sihha_kit.devtools", "token", "--role", "nurse",
         "--establishment", "31-EPH-01", "--dir", str(key_dir)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    caller = await _verify(key_dir, result.stdout.strip())
    assert caller.roles == {Role.nurse}

    failed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sihha_kit.devtools", "token", "--role", "doctor",
         "--dir", str(key_dir / "nowhere")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert failed.returncode == 1 and failed.stdout == ""

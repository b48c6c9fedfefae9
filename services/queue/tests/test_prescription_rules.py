"""The lists' rules, the warnings and the signed code, without I/O."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sihha_contracts.events.queue import ListClass
from sihha_kit.i18n import Catalogue
from sihha_kit.i18n_maintenance import used_keys
from sihha_queue.domain import prescription_code
from sihha_queue.domain.interactions import load_interactions
from sihha_queue.domain.prescribing_rules import RuleViolation, check_line, load_rules
from sihha_queue.domain.prescription_warnings import (
    ActivePrescription,
    CheckedLine,
    DoseUnit,
    load_dose_limits,
    parse_strength,
    warnings_for,
)

DOCTOR = frozenset({"doctor"})


def rule(list_class: ListClass, **line: object) -> None:
    values: dict[str, object] = {
        "line_no": 1,
        "form": "COMPRIME",
        "duration_days": 5,
        "renewals": 0,
        "quantity_in_words": None,
        "prescriber_roles": DOCTOR,
        **line,
    }
    check_line(load_rules(), list_class=list_class, **values)  # type: ignore[arg-type]


def refused(list_class: ListClass, **line: object) -> str:
    with pytest.raises(RuleViolation) as error:
        rule(list_class, **line)
    return error.value.code


def test_narcotics() -> None:
    rule(ListClass.NARCOTIC, duration_days=28, quantity_in_words="deux boîtes")
    assert (
        refused(ListClass.NARCOTIC, duration_days=29, quantity_in_words="x")
        == "duration-above-maximum"
    )
    assert (
        refused(
            ListClass.NARCOTIC, form="SOLUTION INJECTABLE", duration_days=8, quantity_in_words="x"
        )
        == "duration-above-maximum"
    )
    assert refused(ListClass.NARCOTIC, renewals=1, quantity_in_words="x") == "renewal-not-allowed"
    assert refused(ListClass.NARCOTIC) == "quantity-in-words-required"


@pytest.mark.parametrize("list_class", [ListClass.LIST_I, ListClass.LIST_II, ListClass.NONE])
def test_lists_i_and_ii(list_class: ListClass) -> None:
    rule(list_class, duration_days=365, renewals=11)
    assert refused(list_class, duration_days=366) == "duration-above-maximum"
    assert refused(list_class, renewals=12) == "too-many-renewals"
    assert refused(list_class, prescriber_roles=frozenset({"nurse"})) == "prescriber-not-allowed"


def checked(
    n: int, substances: tuple[str, ...], dosage: str, dose: str, unit: DoseUnit, per_day: int
) -> CheckedLine:
    return CheckedLine(n, substances, dosage, Decimal(dose), unit, per_day)


def keys(lines: list[CheckedLine], active: list[ActivePrescription] | None = None) -> list[str]:
    return [
        w.key
        for w in warnings_for(
            lines,
            active=active or [],
            interactions=load_interactions(),
            dose_limits=load_dose_limits(),
        )
    ]


def test_warnings() -> None:
    paracetamol = checked(1, ("PARACETAMOL",), "1000MG", "1", DoseUnit.TABLET, 4)
    assert keys([paracetamol]) == []  # 4 g: the maximum, not above
    assert keys([checked(1, ("PARACETAMOL",), "1000MG", "1", DoseUnit.TABLET, 5)]) == [
        "dose:PARACETAMOL"
    ]
    assert keys([checked(1, ("PARACETAMOL",), "", "1.5", DoseUnit.G, 3)]) == ["dose:PARACETAMOL"]
    syrup = checked(1, ("PARACETAMOL",), "120MG/5ML (2,4G/100ML)", "40", DoseUnit.ML, 4)
    assert keys([syrup]) == []  # 24 mg/ml × 40 ml × 4 = 3,840 mg
    combined = checked(2, ("PARACETAMOL", "CODEINE"), "400MG/20MG", "1", DoseUnit.TABLET, 3)
    assert keys([paracetamol, combined]) == ["duplicate-dci:PARACETAMOL", "dose:PARACETAMOL"]
    diclofenac = checked(1, ("DICLOFENAC",), "50MG", "1", DoseUnit.TABLET, 2)
    ibuprofen = checked(2, ("IBUPROFENE",), "400MG", "1", DoseUnit.TABLET, 3)
    assert keys([diclofenac, ibuprofen]) == ["interaction:nsaid-nsaid:DICLOFENAC+IBUPROFENE"]
    # against another active prescription of the patient
    other = ActivePrescription("p", frozenset({"BUPRENORPHINE", "PARACETAMOL"}))
    tramadol = checked(1, ("TRAMADOL",), "50MG", "1", DoseUnit.CAPSULE, 2)
    assert keys(
        [
            tramadol,
            paracetamol.__class__(2, ("PARACETAMOL",), "500MG", Decimal(1), DoseUnit.TABLET, 2),
        ],
        [other],
    ) == [
        "duplicate-active:PARACETAMOL",
        "interaction:opioid-agonist-mixed-agonist-antagonist:BUPRENORPHINE+TRAMADOL",
    ]
    # a Phansalkar pair: pseudoephedrine (an amphetamine derivative) with an MAO inhibitor
    rhume = checked(1, ("PARACETAMOL", "PSEUDOEPHEDRINE"), "500MG/30MG", "1", DoseUnit.TABLET, 3)
    maoi = checked(2, ("SELEGILINE",), "5MG", "1", DoseUnit.TABLET, 1)
    assert keys([rhume, maoi]) == ["interaction:amphetamine-maoi:PSEUDOEPHEDRINE+SELEGILINE"]


@pytest.mark.parametrize(
    ("dosage", "mg", "per_ml"),
    [
        ("500MG", ("500",), False),
        ("325MG/37,5MG", ("325", "37.5"), False),
        ("2MG/5ML", ("0.4",), True),
        ("10MG/ML", ("10",), True),
        ("1G", ("1000",), False),
        ("250µG/5ML", ("0.05",), True),
    ],
)
def test_strengths(dosage: str, mg: tuple[str, ...], per_ml: bool) -> None:
    strength = parse_strength(dosage)
    assert strength is not None
    assert [f"{m.normalize():f}" for m in strength.mg] == list(mg) and strength.per_ml is per_ml


def test_unreadable_strengths_give_no_dose_warning() -> None:
    for dosage in ("PURETE ? 99.5%", "100MG/SACHET ET 180MG/SACHET", "n", ""):
        assert parse_strength(dosage) is None


def test_a_code_signed_then_verified_and_a_forged_one_refused() -> None:
    key = Ed25519PrivateKey.generate()
    fields = prescription_code.PrescriptionCode(
        uuid.uuid4(), "31-PC-001", date(2026, 11, 25), date(2027, 2, 23), b"d" * 32
    )
    code = prescription_code.sign(fields, key)
    assert len(code) < 180  # fits a small QR code
    verified = prescription_code.verify(code, {"31-PC-001": key.public_key()})
    assert verified.prescription_id == fields.prescription_id
    assert verified.valid_until == date(2027, 2, 23) and verified.digest == b"d" * 16
    with pytest.raises(prescription_code.CodeSignatureInvalid):
        prescription_code.verify(code, {"31-PC-001": Ed25519PrivateKey.generate().public_key()})
    with pytest.raises(prescription_code.CodeEstablishmentUnknown):
        prescription_code.verify(code, {})
    with pytest.raises(prescription_code.CodeMalformed):
        prescription_code.verify("RX2." + code[4:], {"31-PC-001": key.public_key()})


def test_every_prescription_text_exists_in_french_and_arabic() -> None:
    """The queue's package is not yet wholly in catalogues (tests/test_translations.py):
    this checks the keys of the prescription's own files."""
    from importlib import resources

    root = resources.files("sihha_queue")
    catalogue = Catalogue.of("sihha_queue")
    missing = []
    for use in used_keys(root):  # type: ignore[arg-type]
        name = use.path.name
        if not (
            "prescri" in name
            or "pharmacy" in name
            or "nomenclature" in name
            or "interaction" in name
        ):
            continue
        for language in ("fr", "ar"):
            if (
                use.key not in catalogue.texts[language]
                and use.key not in Catalogue.of().texts[language]
            ):
                missing.append(f"{use}: {use.key} ({language})")
    assert missing == []

"""Every user-facing string has its French and its Arabic text (sihha_kit.i18n)."""

from __future__ import annotations

from importlib import metadata

import pytest

from sihha_kit.i18n_maintenance import missing_translations

#: every package of the platform that people read texts from
PACKAGES = sorted(
    name.replace("-", "_")
    for dist in metadata.distributions()
    if (name := dist.metadata["Name"] or "").startswith("sihha-")
    and name not in {"sihha-platform", "sihha-contracts", "sihha-runner"}
)


def test_every_package_is_checked() -> None:
    assert {"sihha_kit", "sihha_queue", "sihha_reporting"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_text_exists_in_french_and_arabic(package: str) -> None:
    problems = missing_translations(package)
    assert not problems, "\n".join(problems)

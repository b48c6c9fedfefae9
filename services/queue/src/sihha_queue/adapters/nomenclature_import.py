"""Files of the national nomenclature: the shipped excerpt and synthetic full-size ones.

(Importing a file is `service_layer.prescriptions.import_nomenclature`; from the
command line, `python -m sihha_queue.nomenclature_cli`.)

``sihha_queue/data/nomenclature-dz-2026-06.excerpt.csv`` is a verbatim excerpt of the
ministry's June 2026 edition (386 products), kept as reference and test data.
`synthetic_edition` builds a full-size file of the same format from it, for tests,
benchmarks and the demo (the real file has ~5,000 products).
"""

from __future__ import annotations

from importlib import resources

EXCERPT = "nomenclature-dz-2026-06.excerpt.csv"


def excerpt_bytes() -> bytes:
    """The shipped verbatim excerpt of the June 2026 edition."""
    return resources.files("sihha_queue").joinpath("data", EXCERPT).read_bytes()


def synthetic_edition(
    products: int, *, withdraw_every: int = 0, seed_text: bytes | None = None
) -> bytes:
    """A nomenclature file of `products` rows in the ministry's format: the excerpt's
    title rows and header, then its rows repeated with new serials, codes and brand
    names (each copy a distinct product of the same DCI, form, dosage and list).
    `withdraw_every` > 0 leaves out every n-th row of the excerpt (a later edition
    that withdrew them)."""
    text = (seed_text or excerpt_bytes()).decode("utf-8-sig")
    lines = text.splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("N°;"))
    head, rows = lines[: header_at + 1], [r for r in lines[header_at + 1 :] if r.strip(";")]
    out = list(head)
    for n in range(products):
        base = rows[n % len(rows)].split(";")
        copy = n // len(rows)
        if withdraw_every and copy == 0 and n % withdraw_every == 0:
            continue
        if copy:
            code = base[2]
            letter = chr(ord("A") + (copy % 26))
            new_code = f"{code[:2]} {letter} {(int(code[-3:]) + copy * 7) % 1000:03d}"
            serial = f"{(copy * 1000 + n) % 100000:05d}"
            base[1] = f"{serial}/{new_code}/{base[1].split('/')[2]}"
            base[2] = new_code
            base[4] = f"{base[4]} G{copy}"
        base[0] = str(n + 1)
        out.append(";".join(base))
    return ("\r\n".join(out) + "\r\n").encode("utf-8")

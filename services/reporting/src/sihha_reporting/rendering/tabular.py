"""CSV (long format, one figure per line) and XLSX (one sheet per table)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from sihha_reporting.rendering.sections import cover, sections, tr


def to_csv(document: dict[str, Any], lang: str) -> bytes:
    """Every figure on its own line: section, row, column, value (and its definition).

    UTF-8 with a byte-order mark, so that spreadsheet programs read Arabic right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "row", "column", "column_label", "value", "definition"])
    for key, text in cover(document, lang):
        writer.writerow(["report", "", key, key, text, ""])
    for section in sections(document, lang):
        for row in section.rows:
            label = row[0]
            for column, value in zip(section.columns[1:], row[1:], strict=True):
                writer.writerow(
                    [
                        section.key,
                        label,
                        column.key,
                        column.label,
                        "" if value is None else value,
                        column.definition or "",
                    ]
                )
    return out.getvalue().encode("utf-8-sig")


HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")


def to_xlsx(document: dict[str, Any], lang: str) -> bytes:
    book = Workbook()
    # dated by the report's "generated at" (the platform's clock), not the machine's;
    # openpyxl stores UTC without a zone
    generated_at = datetime.fromisoformat(document["report"]["generated_at"])
    book.properties.created = generated_at.astimezone(UTC).replace(tzinfo=None)
    first = book.active
    assert first is not None
    first.title = tr("cover", lang)[:31]
    for key, value in cover(document, lang):
        first.append([key, value])
    first.column_dimensions["A"].width = 28
    first.column_dimensions["B"].width = 70
    if lang == "ar":
        first.sheet_view.rightToLeft = True
    used: set[str] = {first.title}
    for section in sections(document, lang):
        title = _sheet_title(section.key, used)
        sheet = book.create_sheet(title)
        if lang == "ar":
            sheet.sheet_view.rightToLeft = True
        sheet.append([section.title])
        sheet["A1"].font = Font(bold=True, size=12)
        if section.note:
            sheet.append([section.note])
        sheet.append([c.label for c in section.columns])
        header_row = sheet.max_row
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in section.rows:
            sheet.append(["" if v is None else v for v in row])
        if any(c.definition for c in section.columns):
            sheet.append([])
            sheet.append(
                [tr("definition", lang)] + [c.definition or "" for c in section.columns[1:]]
            )
        for index, column in enumerate(section.columns, start=1):
            letter = sheet.cell(row=header_row, column=index).column_letter
            sheet.column_dimensions[letter].width = max(10, min(60, len(column.label) + 4))
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(key: str, used: set[str]) -> str:
    title = key[:31]
    n = 2
    while title in used:
        title = f"{key[:28]}_{n}"
        n += 1
    used.add(title)
    return title

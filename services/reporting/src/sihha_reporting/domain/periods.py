"""Report periods in Algiers days: a day, a week (Sunday to Saturday, the Algerian
week), a month, or any range asked on demand."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sihha_reporting.domain.problems import ImpossiblePeriod

#: the longest period a report may cover
MAX_DAYS = 366
#: no period starts before this day (the platform holds nothing older; a year-1 period
#: overflowed the date arithmetic of the rollout section: a 500 found by the API fuzzer)
EARLIEST = date(2000, 1, 1)


class PeriodKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # inclusive

    @property
    def key(self) -> str:
        if self.kind is PeriodKind.DAILY:
            return self.start.isoformat()
        if self.kind is PeriodKind.WEEKLY:
            return f"week-{self.start.isoformat()}"
        if self.kind is PeriodKind.MONTHLY:
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def closed(self, today: date) -> bool:
        """A period is closed once its last day is over."""
        return self.end < today

    def label_fr(self) -> str:
        if self.kind is PeriodKind.DAILY:
            return f"Journée du {self.start:%d/%m/%Y}"
        if self.kind is PeriodKind.WEEKLY:
            return f"Semaine du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"
        if self.kind is PeriodKind.MONTHLY:
            return f"Mois de {MONTHS_FR[self.start.month - 1]} {self.start.year}"
        return f"Du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"

    def label_ar(self) -> str:
        if self.kind is PeriodKind.DAILY:
            return f"يوم {self.start:%d/%m/%Y}"
        if self.kind is PeriodKind.WEEKLY:
            return f"الأسبوع من {self.start:%d/%m/%Y} إلى {self.end:%d/%m/%Y}"
        if self.kind is PeriodKind.MONTHLY:
            return f"شهر {MONTHS_AR[self.start.month - 1]} {self.start.year}"
        return f"من {self.start:%d/%m/%Y} إلى {self.end:%d/%m/%Y}"


MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
MONTHS_AR = (
    "جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان",
    "جويلية", "أوت", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)  # fmt: skip


def _check(period: Period, today: date) -> Period:
    if period.start > period.end:
        raise ImpossiblePeriod(
            f"Période impossible : le début ({period.start}) est après la fin ({period.end}).",
            f"فترة غير ممكنة: البداية ({period.start}) بعد النهاية ({period.end}).",
        )
    if period.start < EARLIEST:
        raise ImpossiblePeriod(
            f"Période impossible : elle commence le {period.start}, avant le {EARLIEST}.",
            f"فترة غير ممكنة: تبدأ في {period.start}، قبل {EARLIEST}.",
        )
    if period.start > today:
        raise ImpossiblePeriod(
            f"Période impossible : elle commence le {period.start}, après aujourd'hui ({today}).",
            f"فترة غير ممكنة: تبدأ في {period.start}، بعد اليوم ({today}).",
        )
    if (period.end - period.start).days + 1 > MAX_DAYS:
        raise ImpossiblePeriod(
            f"La période demandée dépasse {MAX_DAYS} jours.",
            f"الفترة المطلوبة تتجاوز {MAX_DAYS} يومًا.",
        )
    return period


def daily(day: date, today: date) -> Period:
    return _check(Period(PeriodKind.DAILY, day, day), today)


def week_start(day: date) -> date:
    """The Sunday that opens the Algerian week containing `day`."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def weekly(day: date, today: date) -> Period:
    start = week_start(day)
    return _check(Period(PeriodKind.WEEKLY, start, start + timedelta(days=6)), today)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def monthly(text: str, today: date) -> Period:
    match = _MONTH.match(text)
    month = int(match.group(2)) if match else 0
    if match is None or not 1 <= month <= 12 or int(match.group(1)) < EARLIEST.year:
        raise ImpossiblePeriod(
            f"Mois impossible : « {text} » (attendu AAAA-MM, par exemple 2026-11).",
            f"شهر غير ممكن: «{text}» (الصيغة المنتظرة YYYY-MM، مثلًا 2026-11).",
        )
    year = int(match.group(1))
    last = calendar.monthrange(year, month)[1]
    return _check(Period(PeriodKind.MONTHLY, date(year, month, 1), date(year, month, last)), today)


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def custom(start: date, end: date, today: date) -> Period:
    return _check(Period(PeriodKind.CUSTOM, start, end), today)


def previous_month(today: date) -> str:
    first = today.replace(day=1)
    return month_of(first - timedelta(days=1))

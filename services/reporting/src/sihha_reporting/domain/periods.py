"""Report periods in Algiers days: a day, a week (Sunday to Saturday, the Algerian
week), a month, or any range asked on demand."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sihha_kit.i18n import N_, Message
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

    def label(self) -> Message:
        """What the period is called in a report's header (``Journée du 01/12/2026``,
        ``Mois de décembre 2026``), rendered in the reader's language."""
        start, end = self.start.strftime("%d/%m/%Y"), self.end.strftime("%d/%m/%Y")
        if self.kind is PeriodKind.DAILY:
            return Message("period.label.daily", day=start)
        if self.kind is PeriodKind.WEEKLY:
            return Message("period.label.weekly", start=start, end=end)
        if self.kind is PeriodKind.MONTHLY:
            month = Message(MONTHS[self.start.month - 1])
            return Message("period.label.monthly", month=month, year=self.start.year)
        return Message("period.label.custom", start=start, end=end)


#: the months' names as said in Algeria (janvier / جانفي), by number
MONTHS = (
    N_("month.01"), N_("month.02"), N_("month.03"), N_("month.04"),
    N_("month.05"), N_("month.06"), N_("month.07"), N_("month.08"),
    N_("month.09"), N_("month.10"), N_("month.11"), N_("month.12"),
)  # fmt: skip


def _check(period: Period, today: date) -> Period:
    if period.start > period.end:
        raise ImpossiblePeriod(
            N_("period.refused.start-after-end"),
            start=period.start.isoformat(),
            end=period.end.isoformat(),
        )
    if period.start < EARLIEST:
        raise ImpossiblePeriod(
            N_("period.refused.before-earliest"),
            start=period.start.isoformat(),
            earliest=EARLIEST.isoformat(),
        )
    if period.start > today:
        raise ImpossiblePeriod(
            N_("period.refused.after-today"),
            start=period.start.isoformat(),
            today=today.isoformat(),
        )
    if (period.end - period.start).days + 1 > MAX_DAYS:
        raise ImpossiblePeriod(N_("period.refused.too-long"), max_days=MAX_DAYS)
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
        raise ImpossiblePeriod(N_("period.refused.bad-month"), month=text[:20])
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

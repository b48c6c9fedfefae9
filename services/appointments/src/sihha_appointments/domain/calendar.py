"""Algeria's public holidays, from the maintained `holidays` library (vacanza/holidays).

Its Algerian calendar follows the law on public holidays (loi n° 63-278 of 26 July 1963
as amended, last by loi n° 23-10): the civil holidays on fixed Gregorian dates and the
Islamic ones (Eid al-Fitr, Eid al-Adha, Awal Muharram, Ashura, Mawlid) on the Hijri
dates the library computes from its tables of the Umm al-Qura calendar, marked
"estimated": the ministry announces the actual day after the crescent is sighted, and a
scheduler who learns of a one-day shift adds a closed day to the schedule.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


class HolidayCalendar:
    """Whether a day is a public holiday in Algeria, and which (in French and Arabic)."""

    @lru_cache(maxsize=64)  # noqa: B019 - one calendar per process, a few years each
    def _year(self, year: int, language: str) -> dict[date, str]:
        return dict(holidays.country_holidays("DZ", years=year, language=language).items())

    def holiday(self, day: date) -> tuple[str, str] | None:
        """(French name, Arabic name) of the holiday on `day`, or None."""
        french = self._year(day.year, "fr").get(day)
        if french is None:
            return None
        return french, self._year(day.year, "ar").get(day, french)

    def is_holiday(self, day: date) -> bool:
        return day in self._year(day.year, "fr")

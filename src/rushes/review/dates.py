"""The range of dates the review room takes from people: incidents, due dates, filters.

Older or later dates are typing slips, or attacks: an incident dated 9999-12-31 made every
dashboard view draw 400,000 weeks and then fail past the last day Python knows. Local dates
are checked, so every UTC offset keeps a checked time inside Python's range.
"""

from __future__ import annotations

from datetime import date

from rushes.errors import InvalidInput
from rushes.i18n import N_, Term

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def in_range(name: str, day: date) -> date:
    """The day, if between EARLIEST and LATEST; InvalidInput naming the field otherwise
    (`name` as the history and the errors show it: rushes.web.terms)."""
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(
            N_("%(field)s: %(day)s is not between %(earliest)s and %(latest)s"),
            field=Term(name),
            day=day.isoformat(),
            earliest=EARLIEST.isoformat(),
            latest=LATEST.isoformat(),
        )
    return day

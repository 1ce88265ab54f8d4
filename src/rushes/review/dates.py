"""The range of dates the review room takes from people: incidents, due dates, filters.

Older or later dates are typing slips, or attacks: an incident dated 9999-12-31 made every
dashboard view draw 400,000 weeks and then fail past the last day Python knows. Local dates
are checked, so every UTC offset keeps a checked time inside Python's range.
"""

from __future__ import annotations

from datetime import date

from rushes.errors import InvalidInput

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def in_range(name: str, day: date) -> date:
    """The day, if between EARLIEST and LATEST; InvalidInput naming the field otherwise."""
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(f"{name}: {day.isoformat()} is not between {EARLIEST} and {LATEST}")
    return day

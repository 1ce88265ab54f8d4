"""Text as it may appear inside an exported file: one line, no control characters.

Labels, titles, notes, names and file names come from people and from camera cards. Written
as they are, a CR/LF in a select's label becomes an event line of its own in an EDL, and a
newline in a project name a forged tag line in an evidence bag's bag-info.txt; other control
characters make XML invalid. Every export writes such text through `flat`.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping, MutableSequence
from typing import Any

import opentimelineio as otio

# C0 and C1 controls (CR, LF, NUL, ESC …), DEL, and Unicode's line and paragraph separators.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def flat(text: str) -> str:
    """Each run of control characters becomes one space."""
    return _BREAKS.sub(" ", text)


def _flat_value(value: Any) -> Any:
    if isinstance(value, str):
        return flat(value)
    if isinstance(value, MutableMapping):
        for key in list(value.keys()):
            value[key] = _flat_value(value[key])
    elif isinstance(value, MutableSequence):
        for index, item in enumerate(list(value)):
            value[index] = _flat_value(item)
    return value


def flat_timeline(timeline: otio.schema.Timeline) -> None:
    """Flatten every name and every text in the metadata of the timeline and all it holds."""
    items: list[Any] = [timeline, timeline.tracks, *timeline.tracks.find_children()]
    for item in list(items):
        items += getattr(item, "markers", [])
        references = getattr(item, "media_references", None)
        items += references().values() if references else []
    for item in items:
        item.name = flat(item.name or "")
        _flat_value(item.metadata)

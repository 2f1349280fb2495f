"""The calendars this process last wrote, by their text.

An update merges our fields into the event as we last wrote it (RecordLink.body), and parsing
that text again was half of an update's CPU (1.7 of 3.6 ms for a one-event calendar with its
VTIMEZONE). The object we serialized is kept under the text it produced; an update whose
starting text is that text takes the object instead of parsing it. Taking removes it, so no
two updates share one object; an update of anything else (the server's copy, another
process's write) parses as before.

A wedding's CalDAV connections are sent the same event in the same second, so they write the
same text: each write keeps its own object under it (until 2026-12-03 one slot per text kept
the last, and two of three updates parsed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from icalendar import Calendar

KEPT = 256  # texts per process, the least recently written dropped first
PER_TEXT = 16  # calendars kept under one text (connections writing it, not yet updated)


class WrittenCalendars:
    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self._by_text: OrderedDict[str, list[Calendar]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, text: str) -> Calendar | None:
        """A calendar that serialized to `text`, now the caller's alone; None if none is kept."""
        with self._lock:
            kept = self._by_text.get(text)
            if not kept:
                return None
            calendar = kept.pop()
            if not kept:
                del self._by_text[text]
            return calendar

    def keep(self, text: str, calendar: Calendar) -> None:
        """`calendar` serialized to `text`; the caller must not change it afterwards."""
        with self._lock:
            kept = self._by_text.setdefault(text, [])
            kept.append(calendar)
            del kept[:-PER_TEXT]
            self._by_text.move_to_end(text)
            while len(self._by_text) > self.size:
                self._by_text.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._by_text.clear()

    def __len__(self) -> int:
        return len(self._by_text)


written_calendars = WrittenCalendars()

"""The calendars this process last wrote, by their text.

An update merges our fields into the event as we last wrote it (RecordLink.body), and parsing
that text again was half of an update's CPU (1.7 of 3.6 ms for a one-event calendar with its
VTIMEZONE). The object we serialized is kept under the text it produced; an update whose
starting text is that text takes the object instead of parsing it. Taking removes it, so no
two updates share one object; an update of anything else (the server's copy, another
process's write) parses as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from icalendar import Calendar

KEPT = 256  # calendars per process, the least recently written dropped first


class WrittenCalendars:
    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self._by_text: OrderedDict[str, Calendar] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, text: str) -> Calendar | None:
        """The calendar that serialized to `text`, now the caller's alone; None if not kept."""
        with self._lock:
            return self._by_text.pop(text, None)

    def keep(self, text: str, calendar: Calendar) -> None:
        """`calendar` serialized to `text`; the caller must not change it afterwards."""
        with self._lock:
            self._by_text[text] = calendar
            self._by_text.move_to_end(text)
            while len(self._by_text) > self.size:
                self._by_text.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._by_text.clear()

    def __len__(self) -> int:
        return len(self._by_text)


written_calendars = WrittenCalendars()

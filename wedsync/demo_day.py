"""When and where the demo wedding happens; free of Django, so the sandbox vendors (a process of
their own) can seed their records on the same day."""

from __future__ import annotations

import datetime as dt

DEMO_ZONE = "Europe/London"


def demo_wedding_date(today: dt.date | None = None) -> dt.date:
    """A Saturday about three months out, so the demo is always a wedding being planned."""
    today = today or dt.date.today()
    start = today + dt.timedelta(days=90)
    return start + dt.timedelta(days=(5 - start.weekday()) % 7)

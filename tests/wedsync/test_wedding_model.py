"""A wedding knows whether it is today where it takes place."""

import datetime as dt

import pytest

from tests.factories import WeddingFactory
from wedsync.models import Wedding

pytestmark = pytest.mark.django_db

# 23:30 UTC on 19 June is already 20 June in Auckland and still 19 June in Los Angeles.
LATE_EVENING_UTC = dt.datetime(2027, 6, 19, 23, 30, tzinfo=dt.UTC)


def test_is_today_uses_the_weddings_own_time_zone():
    auckland = WeddingFactory(date=dt.date(2027, 6, 20), time_zone="Pacific/Auckland")
    los_angeles = WeddingFactory(date=dt.date(2027, 6, 19), time_zone="America/Los_Angeles")
    london = WeddingFactory(date=dt.date(2027, 6, 19), time_zone="Europe/London")
    assert auckland.is_today(LATE_EVENING_UTC)
    assert los_angeles.is_today(LATE_EVENING_UTC)
    assert not london.is_today(LATE_EVENING_UTC)  # 00:30 on the 20th in London
    today = Wedding.objects.happening_today(LATE_EVENING_UTC)
    assert {w.pk for w in today} == {auckland.pk, los_angeles.pk}

"""factory-boy factories for the core domain."""

import datetime as dt
import zoneinfo

import factory
from django.contrib.auth import get_user_model

from wedsync.models import (
    Contact,
    Membership,
    Organization,
    TimelineItem,
    Wedding,
    WeddingParticipant,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Vendor {n}")
    slug = factory.Sequence(lambda n: f"vendor-{n}")
    kind = Organization.Kind.PHOTOGRAPHER
    time_zone = "Europe/London"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.OWNER


class WeddingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wedding

    couple_names = factory.Sequence(lambda n: f"Couple {n}")
    date = dt.date(2027, 6, 19)
    time_zone = "Europe/London"
    venue_name = "Hartwell Manor"
    guest_count = 100


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeddingParticipant

    wedding = factory.SubFactory(WeddingFactory)
    organization = factory.SubFactory(OrganizationFactory)
    part = factory.LazyAttribute(lambda p: WeddingParticipant.part_for(p.organization))


class TimelineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineItem

    wedding = factory.SubFactory(WeddingFactory)
    title = "Ceremony"
    starts_at = factory.LazyAttribute(
        lambda item: dt.datetime.combine(
            item.wedding.date, dt.time(15, 0), tzinfo=zoneinfo.ZoneInfo(item.wedding.time_zone)
        )
    )
    ends_at = factory.LazyAttribute(lambda item: item.starts_at + dt.timedelta(minutes=45))
    location = "Walled Garden"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    wedding = factory.SubFactory(WeddingFactory)
    name = factory.Sequence(lambda n: f"Guest {n}")
    role = Contact.Role.FAMILY
    email = factory.LazyAttribute(lambda c: f"{c.name.replace(' ', '').lower()}@example.com")

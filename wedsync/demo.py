"""The demo wedding: five vendors, their people, a timeline of the day and contacts.

Every row is found by a natural key before it is created, so loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from .demo_day import DEMO_ZONE, demo_wedding_date
from .models import Contact, Membership, Organization, TimelineItem, Wedding, WeddingParticipant

DEMO_WEDDING_ID = uuid.UUID("5eddd1e0-0000-4000-8000-000000000001")
ORGANIZATIONS = [
    # slug, name, kind, part, people (username, role)
    (
        "lumen-photo",
        "Lumen Photography",
        "photographer",
        "photographer",
        [("maya.lumen", "owner"), ("tom.lumen", "staff")],
    ),
    (
        "everafter-planning",
        "Ever After Planning",
        "planner",
        "planner",
        [("sofia.everafter", "owner"), ("coordinator", "coordinator")],
    ),
    (
        "hartwell-manor",
        "Hartwell Manor",
        "venue",
        "venue",
        [("james.hartwell", "owner"), ("events.hartwell", "coordinator")],
    ),
    ("saffron-table", "Saffron Table Catering", "caterer", "caterer", [("priya.saffron", "owner")]),
    ("wild-stems", "Wild Stems Florist", "florist", "florist", [("lena.wildstems", "owner")]),
]

# start (local), end (local), title, location, responsible organization slug
TIMELINE = [
    ("12:00", "13:30", "Florist sets up ceremony arch", "Walled Garden", "wild-stems"),
    ("13:00", "14:30", "Getting-ready photos", "Bridal Suite", "lumen-photo"),
    ("14:30", "15:00", "Guests arrive", "Walled Garden", "hartwell-manor"),
    ("15:00", "15:45", "Ceremony", "Walled Garden", "everafter-planning"),
    ("15:45", "17:30", "Drinks reception and portraits", "South Lawn", "lumen-photo"),
    ("17:30", "19:30", "Wedding breakfast", "Great Hall", "saffron-table"),
    ("19:30", "20:00", "Speeches", "Great Hall", "everafter-planning"),
    ("20:00", "23:30", "Evening reception", "Great Hall", "hartwell-manor"),
]

CONTACTS = [
    ("Ana Ferreira", "couple", "ana@example.com", "+447700900101", ["email", "sms"]),
    ("Ben Carter", "couple", "ben@example.com", "+447700900102", ["sms", "whatsapp"]),
    ("Marta Ferreira", "family", "marta@example.com", "", ["email"]),
    ("Oliver Carter", "wedding_party", "oliver@example.com", "+447700900104", ["whatsapp"]),
]


@dataclass
class DemoResult:
    wedding: Wedding
    admin_username: str
    api_user: str
    api_token: str


@transaction.atomic
def load_demo(admin_password: str, admin_username: str = "admin") -> DemoResult:
    User = get_user_model()
    admin, created = User.objects.get_or_create(
        username=admin_username,
        defaults={"email": "admin@wedsync.local", "is_staff": True, "is_superuser": True},
    )
    if created or not admin.check_password(admin_password):
        admin.set_password(admin_password)
        admin.save()

    organizations = {}
    for slug, name, kind, _part, people in ORGANIZATIONS:
        org, _ = Organization.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": kind,
                "time_zone": DEMO_ZONE,
                "email": f"hello@{slug}.example",
            },
        )
        organizations[slug] = org
        for username, role in people:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@{slug}.example", "is_staff": True},
            )
            if created:
                user.set_unusable_password()
                user.save()
            Membership.objects.get_or_create(user=user, organization=org, defaults={"role": role})
    # The demo admin coordinates the wedding too, so the API and socket show it data.
    Membership.objects.get_or_create(
        user=admin,
        organization=organizations["everafter-planning"],
        defaults={"role": Membership.Role.COORDINATOR},
    )

    wedding, created = Wedding.objects.get_or_create(
        pk=DEMO_WEDDING_ID,
        defaults={
            "couple_names": "Ana Ferreira & Ben Carter",
            "date": demo_wedding_date(),
            "time_zone": DEMO_ZONE,
            "venue_name": "Hartwell Manor",
            "venue_address": "Hartwell Lane, Aylesbury HP17 8NR, United Kingdom",
            "status": Wedding.Status.CONFIRMED,
            "guest_count": 120,
        },
    )
    for slug, _name, _kind, part, _people in ORGANIZATIONS:
        WeddingParticipant.objects.get_or_create(
            wedding=wedding,
            organization=organizations[slug],
            part=part,
            defaults={"is_lead": slug == "everafter-planning"},
        )

    if created:
        zone = zoneinfo.ZoneInfo(wedding.time_zone)

        def at(clock: str) -> dt.datetime:
            hour, minute = map(int, clock.split(":"))
            return dt.datetime.combine(wedding.date, dt.time(hour, minute), tzinfo=zone)

        TimelineItem.objects.bulk_create(
            TimelineItem(
                wedding=wedding,
                title=title,
                starts_at=at(start),
                ends_at=at(end),
                location=location,
                responsible_organization=organizations[slug],
            )
            for start, end, title, location, slug in TIMELINE
        )
        for name, role, email, phone, channels in CONTACTS:
            Contact.objects.create(
                wedding=wedding,
                name=name,
                role=role,
                email=email,
                phone=phone,
                preferred_channels=channels,
                consented_channels=channels,
            )

    token, _ = Token.objects.get_or_create(user=admin)
    return DemoResult(
        wedding=wedding, admin_username=admin.username, api_user=admin.username, api_token=token.key
    )

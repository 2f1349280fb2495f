"""Who may see and change what. Every view, consumer and admin page asks here."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Membership, Organization, Wedding, WeddingParticipant


def weddings_visible_to(user) -> QuerySet[Wedding]:
    return Wedding.objects.visible_to(user)


def is_wedding_member(user, wedding_id) -> bool:
    """True when one of the user's organizations takes part in the wedding."""
    if not user.is_authenticated:
        return False
    return WeddingParticipant.objects.filter(
        wedding_id=wedding_id, organization__memberships__user=user
    ).exists()


def can_manage_wedding(user, wedding: Wedding) -> bool:
    """Owners and coordinators of a participating organization manage the wedding."""
    if not user.is_authenticated:
        return False
    return WeddingParticipant.objects.filter(
        wedding=wedding,
        organization__memberships__user=user,
        organization__memberships__role__in=Membership.MANAGING_ROLES,
    ).exists()


def organizations_of(user, *, managing: bool = False) -> QuerySet[Organization]:
    """The organizations the user belongs to (only those they manage, when asked)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    memberships = Membership.objects.filter(user=user)
    if managing:
        memberships = memberships.filter(role__in=Membership.MANAGING_ROLES)
    return Organization.objects.filter(pk__in=memberships.values("organization_id"))


def organizations_visible_to(user) -> QuerySet[Organization]:
    """The user's own organizations and those that share a wedding with them."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(
        pk__in=WeddingParticipant.objects.filter(wedding__in=weddings_visible_to(user)).values(
            "organization_id"
        )
    ) | organizations_of(user)

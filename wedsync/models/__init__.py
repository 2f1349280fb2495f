from .contacts import Channel, Contact
from .organizations import Membership, Organization
from .timeline import TimelineItem
from .weddings import Wedding, WeddingParticipant

__all__ = [
    "Channel",
    "Contact",
    "Membership",
    "Organization",
    "TimelineItem",
    "Wedding",
    "WeddingParticipant",
]

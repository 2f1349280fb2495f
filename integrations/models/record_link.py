"""Record links: one external record of one connection, and what the hub last knew of it."""

from __future__ import annotations

from django.db import models

from .connection import Connection


class RecordLink(models.Model):
    """Our object <-> the provider's record, with the version and snapshot last synced.

    `source_modified` is the provider's own modification time (or event order) of the state in
    `snapshot`: an older event or poll never overwrites a newer state. `fields_hash` lets a pull
    that finds the same normalized record change nothing and fire nothing.

    `body` is the record as the provider stores it at `body_version`, when we know it exactly
    because we wrote it (CalDAV: the iCalendar object the server kept as sent). An update
    merges into it instead of fetching it first; it counts only while `body_version` is
    `version`, so anything that moves the version on without it leaves it unused.
    """

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="record_links"
    )
    resource = models.CharField(max_length=64)
    external_id = models.CharField(max_length=300)
    kind = models.CharField(max_length=32)
    object_id = models.UUIDField(null=True, blank=True, db_index=True)
    version = models.CharField(max_length=200, blank=True)
    source_modified = models.DateTimeField(null=True, blank=True)
    fields_hash = models.CharField(max_length=64, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    deleted = models.BooleanField(default=False)
    body = models.TextField(blank=True, default="")
    body_version = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "resource", "external_id"], name="record_link_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection.provider} {self.resource} {self.external_id}"

    @property
    def current_body(self) -> str | None:
        """`body`, if it is the provider's copy at the version last synced."""
        if self.version and self.body and self.body_version == self.version:
            return self.body
        return None

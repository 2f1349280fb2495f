"""Settling an inbound change against ours: three-way merge, then policies, then a person.

Called by the sync engine inside the transaction that applies the change. What a policy settles
is applied at once and recorded (which policy, and why); what needs a person keeps our value
and waits in the review console, announced on the wedding's socket.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from integrations.models import Connection
from wedsync.live import EventType, broadcast_on_commit
from wedsync.models import Wedding

from .merge import detect
from .models import Conflict, ConflictPolicy
from .policies import DEFAULT_POLICIES, Policy, SideMeta, resolve


@dataclass
class Settlement:
    values: dict[str, Any]  # the record to hold now
    ours_kept: bool  # a conflict kept (or chose) our value: the source must hear it too
    opened: list[Conflict]
    settled: list[Conflict]


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def policies_for(wedding: Wedding) -> list[Policy]:
    stored = ConflictPolicy.objects.filter(wedding__in=[wedding]) | ConflictPolicy.objects.filter(
        wedding__isnull=True
    )
    return [p.as_policy() for p in stored] + list(DEFAULT_POLICIES)


def roles_of(connection: Connection) -> frozenset[str]:
    roles = {connection.organization.kind}
    with contextlib.suppress(LookupError):
        roles.add(connection.spec.category)
    return frozenset(roles)


def settle(
    *,
    wedding: Wedding,
    kind: str,
    object_id,
    base: dict[str, Any] | None,
    ours: dict[str, Any],
    ours_modified,
    theirs: dict[str, Any],
    theirs_modified,
    connection: Connection,
) -> Settlement:
    result = detect(base, ours, theirs)
    if not result.conflicts:
        return Settlement({**ours, **result.merged}, False, [], [])
    policies = policies_for(wedding)
    wedding_day = wedding.is_today()
    ours_meta = SideMeta("hub", ours_modified)
    theirs_meta = SideMeta(connection.provider, theirs_modified, roles_of(connection))
    chosen: dict[str, Any] = {}
    opened, settled, ours_kept = [], [], False
    for conflict in result.conflicts:
        decision = resolve(
            conflict,
            ours_meta=ours_meta,
            theirs_meta=theirs_meta,
            policies=policies,
            wedding_day=wedding_day,
            data_type=kind,
        )
        row = Conflict(
            wedding=wedding,
            kind=kind,
            object_id=object_id,
            path=conflict.path,
            fields=list(conflict.fields),
            base=plain(conflict.base),
            ours=plain(conflict.ours),
            theirs=plain(conflict.theirs),
            theirs_system=connection.provider,
            theirs_connection=connection,
            theirs_modified=theirs_meta.modified,
            policy=f"{decision.policy.kind}"
            + (
                f" ({decision.policy.field or decision.policy.data_type})"
                if decision.policy.field or decision.policy.data_type
                else ""
            ),
            reason=decision.reason,
            emergency=decision.emergency,
        )
        if decision.needs_person:
            row.status = Conflict.Status.PENDING
            chosen[conflict.path] = conflict.ours
            ours_kept = True
            opened.append(row)
        else:
            row.status = Conflict.Status.AUTO
            row.resolution = plain(decision.value)
            chosen[conflict.path] = decision.value
            ours_kept = ours_kept or decision.winner == "hub"
            settled.append(row)
    Conflict.objects.bulk_create([*opened, *settled])
    for row in opened:
        data = {
            "id": row.pk,
            "kind": kind,
            "object": str(object_id),
            "path": row.path,
            "ours": row.ours,
            "theirs": row.theirs,
            "theirs_system": row.theirs_system,
            "emergency": row.emergency,
        }
        broadcast_on_commit(wedding.pk, EventType.CONFLICT_OPENED, data)
        if row.emergency:
            broadcast_on_commit(
                wedding.pk, EventType.EMERGENCY_NOTIFICATION, {**data, "message": row.reason}
            )
    for row in settled:
        broadcast_on_commit(
            wedding.pk,
            EventType.CONFLICT_RESOLVED,
            {
                "id": row.pk,
                "path": row.path,
                "value": row.resolution,
                "policy": row.policy,
                "reason": row.reason,
            },
        )
    return Settlement({**ours, **result.apply(chosen)}, ours_kept, opened, settled)

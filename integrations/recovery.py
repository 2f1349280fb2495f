"""After a Celery process dies: pick up what it held, as soon as it is known dead.

A process (re)starting is the sign that one may have died: a pool process replaced after the
OOM killer, a worker restarted after kill -9. The dead one's locks and leases are free once
its alive key lapses (integrations.liveness), but nothing would look at them before the next
sweep, and the tasks it had taken are gone (acks_late gives them back only after the broker's
visibility timeout, an hour). So every start queues one `resume_held_work`, coalesced, to run
just after a dead holder's key has lapsed: the push sweep, and a drain for every connection
with inbound events waiting, without the inbound sweep's grace period.
"""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_process_init, worker_ready

from integrations import liveness, wakeups

logger = logging.getLogger(__name__)

RESUME = "resume"
RESUME_KEY = "hub"


def queue_resume(**_signal) -> None:
    """Queue resume_held_work, unless one is already waiting."""
    from integrations.tasks import resume_held_work

    try:
        wakeups.kick(
            RESUME,
            RESUME_KEY,
            lambda: resume_held_work.apply_async(countdown=liveness.life_seconds() + 1),
        )
    except Exception:  # the broker is down: the sweeps will do it
        logger.warning("could not queue the resume of held work", exc_info=True)


def queue_resume_aside(**_signal) -> None:
    """queue_resume on a thread of its own: a pool process that takes more than a few seconds
    to start (a broker slow to answer) is killed by Celery and started again."""
    threading.Thread(target=queue_resume, name="queue-resume", daemon=True).start()


def connect() -> None:
    worker_ready.connect(queue_resume, dispatch_uid="resume_after_worker_ready", weak=False)
    worker_process_init.connect(
        queue_resume_aside, dispatch_uid="resume_after_process_init", weak=False
    )


def drains_waiting() -> dict:
    """The connections with inbound events waiting for a drain: their organization's id."""
    from integrations.webhooks.drain import waiting_events

    waiting = (
        waiting_events().order_by().values_list("connection_id", "connection__organization_id")
    )
    return dict(waiting.distinct())

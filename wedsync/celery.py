"""The Celery app: Redis broker, named queues, django-celery-beat's database scheduler."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wedsync.settings")

app = Celery("wedsync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

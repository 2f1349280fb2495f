"""WedSync Hub: the project package and the core wedding domain."""

from .celery import app as celery_app

__all__ = ("celery_app",)

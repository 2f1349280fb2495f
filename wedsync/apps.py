from django.apps import AppConfig


class WedsyncConfig(AppConfig):
    name = "wedsync"
    verbose_name = "Weddings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import log_redaction

        log_redaction.install()
        # Load the Celery app here rather than in the package's __init__, so importing
        # `wedsync` (the devstack does) sets no environment as a side effect.
        from . import celery  # noqa: F401

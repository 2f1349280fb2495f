from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """A bad provider spec stops start-up, naming the provider and the field."""
        from wedsync.changes import add_listener

        from .registry import validate_all
        from .specs import SpecError
        from .sync.outbox import on_change

        add_listener(on_change)  # our changes reach the outbox in their own transaction

        from .recovery import connect as resume_after_restarts

        resume_after_restarts()

        from django.db.models.signals import post_save

        from .health import on_connection_saved
        from .models import Connection

        post_save.connect(on_connection_saved, sender=Connection, dispatch_uid="connection_health")

        try:
            validate_all()
        except SpecError as error:
            raise ImproperlyConfigured(str(error)) from error

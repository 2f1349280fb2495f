from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """A bad provider spec stops start-up, naming the provider and the field."""
        from .registry import validate_all
        from .specs import SpecError

        try:
            validate_all()
        except SpecError as error:
            raise ImproperlyConfigured(str(error)) from error

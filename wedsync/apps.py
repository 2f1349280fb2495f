from django.apps import AppConfig


class WedsyncConfig(AppConfig):
    name = "wedsync"
    verbose_name = "Weddings"
    default_auto_field = "django.db.models.BigAutoField"

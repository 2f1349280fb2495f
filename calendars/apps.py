from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "calendars"
    verbose_name = "Calendar feeds"
    default_auto_field = "django.db.models.BigAutoField"

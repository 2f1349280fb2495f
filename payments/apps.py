from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments and budget"
    default_auto_field = "django.db.models.BigAutoField"

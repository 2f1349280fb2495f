from django.urls import path

from . import api

urlpatterns = [
    path("weddings/<uuid:wedding_id>/budget/", api.BudgetView.as_view(), name="wedding-budget"),
]

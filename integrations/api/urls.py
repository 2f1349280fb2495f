from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("connections", views.ConnectionViewSet, basename="connection")

urlpatterns = [
    path("providers/", views.ProviderListView.as_view(), name="providers"),
    path("vendor/connect/", views.ConnectView.as_view(), name="vendor-connect"),
    *router.urls,
]

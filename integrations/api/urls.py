from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.webhooks.views import ConnectionWebhookView, ProviderWebhookView

from . import sync_views, views
from .announce_views import AnnounceView

router = SimpleRouter()
router.register("connections", views.ConnectionViewSet, basename="connection")

urlpatterns = [
    path("providers/", views.ProviderListView.as_view(), name="providers"),
    path("vendor/connect/", views.ConnectView.as_view(), name="vendor-connect"),
    path("inbound/<str:token>/", ConnectionWebhookView.as_view(), name="inbound-webhook"),
    path("webhooks/<str:provider>/", ProviderWebhookView.as_view(), name="provider-webhook"),
    path("sync/<uuid:wedding_id>/", sync_views.TriggerSyncView.as_view(), name="sync-wedding"),
    path("status/<uuid:wedding_id>/", sync_views.WeddingStatusView.as_view(), name="sync-status"),
    path(
        "wedding/<uuid:wedding_id>/announce/",
        AnnounceView.as_view(),
        name="announce",
    ),
    path(
        "wedding/<uuid:wedding_id>/timeline-sync/",
        sync_views.TimelineSyncView.as_view(),
        name="timeline-sync",
    ),
    *router.urls,
]

from django.urls import path

from .consumers import WeddingConsumer

websocket_urlpatterns = [
    path("ws/weddings/<uuid:wedding_id>/", WeddingConsumer.as_asgi()),
]

from django.urls import path

from . import api

urlpatterns = [
    path("weddings/<uuid:wedding_id>/calendar-feed/", api.FeedView.as_view(), name="feed-address"),
    path(
        "weddings/<uuid:wedding_id>/calendar-feed/rotate/",
        api.RotateFeedView.as_view(),
        name="feed-rotate",
    ),
]

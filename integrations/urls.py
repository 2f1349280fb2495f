from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("", views.index, name="index"),
    path("link/<str:provider>/", views.link, name="link"),
    path("oauth/callback/", views.oauth_callback, name="oauth-callback"),
    path("connections/<uuid:pk>/", views.connection_detail, name="connection"),
    path(
        "connections/<uuid:pk>/new-weddings/",
        views.connection_new_weddings,
        name="connection-new-weddings",
    ),
    path(
        "connections/<uuid:pk>/announcements/",
        views.connection_announcements,
        name="connection-announcements",
    ),
    path("connections/<uuid:pk>/<str:action>/", views.connection_action, name="connection-action"),
]

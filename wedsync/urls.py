from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import health

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("integrations/", include("integrations.urls")),
    path("api/integrations/", include("integrations.api.urls")),
    path("api/integrations/", include("conflicts.urls")),
    path("api/", include("payments.urls")),
    path("api/", include("calendars.urls")),
    path("calendars/", include("calendars.feed_urls")),
    path("api/", include("wedsync.api.urls")),
    path("api/auth/", include("rest_framework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

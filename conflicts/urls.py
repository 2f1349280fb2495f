from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("conflicts", api.ConflictViewSet, basename="conflict")

urlpatterns = [
    path("calendar/conflicts/", api.CalendarConflictsView.as_view(), name="calendar-conflicts"),
    *router.urls,
]

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("weddings", views.WeddingViewSet, basename="wedding")
router.register("participants", views.ParticipantViewSet, basename="participant")
router.register("timeline-items", views.TimelineItemViewSet, basename="timeline-item")
router.register("contacts", views.ContactViewSet, basename="contact")

urlpatterns = router.urls

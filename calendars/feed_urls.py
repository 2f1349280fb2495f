from django.urls import path

from . import views

urlpatterns = [path("<str:token>.ics", views.feed, name="calendar-feed")]

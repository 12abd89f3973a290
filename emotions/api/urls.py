from django.urls import path
from rest_framework.routers import SimpleRouter

from emotions.api import views

router = SimpleRouter()
router.register("sessions", views.SessionViewSet, basename="api-session")

urlpatterns = [
    *router.urls,
    path("sessions/<int:session_id>/detections/", views.SessionDetectionListView.as_view(),
         name="api-session-detections"),
    path("sessions/<int:session_id>/summary/", views.SessionSummaryView.as_view(), name="api-session-summary"),
    path("stats/", views.StatsView.as_view(), name="api-stats"),
    path("predict/", views.PredictView.as_view(), name="api-predict"),
]

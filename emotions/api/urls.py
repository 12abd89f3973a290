from django.urls import path
from rest_framework.routers import SimpleRouter

from emotions.api import video_views, views

router = SimpleRouter()
router.register("sessions", views.SessionViewSet, basename="api-session")

urlpatterns = [
    *router.urls,
    path("sessions/<int:session_id>/detections/", views.SessionDetectionListView.as_view(),
         name="api-session-detections"),
    path("sessions/<int:session_id>/summary/", views.SessionSummaryView.as_view(), name="api-session-summary"),
    path("stats/", views.StatsView.as_view(), name="api-stats"),
    path("predict/", views.PredictView.as_view(), name="api-predict"),
    path("videos/", video_views.VideoListView.as_view(), name="api-videos"),
    path("videos/<int:session_id>/", video_views.VideoDetailView.as_view(), name="api-video"),
]

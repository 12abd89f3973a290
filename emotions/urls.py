from django.urls import path

from emotions import video_pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("model/", views.model_page, name="model"),
    path("emotions/<str:emotion>/", views.gallery, name="gallery"),
]
urlpatterns += [
    path("live/", views.live, name="live"),
    path("videos/", video_pages.videos, name="videos"),
    path("history/", views.history, name="history"),
    path("history/export.csv", views.history_export_all_csv, name="history-export-all-csv"),
    path("history/export.json", views.history_export_all_json, name="history-export-all-json"),
    path("history/<int:session_id>/", views.history_detail, name="history-detail"),
    path("history/<int:session_id>/delete/", views.history_delete, name="history-delete"),
    path("history/<int:session_id>/note/", views.history_annotate, name="history-annotate"),
    path("history/<int:session_id>/export.csv", views.history_export_csv, name="history-export-csv"),
    path("history/<int:session_id>/export.json", views.history_export_json, name="history-export-json"),
]

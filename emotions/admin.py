from django.contrib import admin

from emotions.models import CaptureSession, Detection, VideoAnalysis


@admin.register(CaptureSession)
class CaptureSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "started_at", "ended_at", "model_label", "frames_received",
                    "frames_processed", "frames_dropped")
    list_filter = ("kind", "started_at", "model_label")
    search_fields = ("user__username", "model_label")
    date_hierarchy = "started_at"
    list_select_related = ("user",)
    raw_id_fields = ("user",)


@admin.register(Detection)
class DetectionAdmin(admin.ModelAdmin):
    list_display = ("id", "session", "offset_ms", "frame_index", "face_index", "emotion", "happy", "sad")
    list_filter = ("emotion",)
    search_fields = ("session__user__username", "emotion")
    list_select_related = ("session", "session__user")
    raw_id_fields = ("session",)


@admin.register(VideoAnalysis)
class VideoAnalysisAdmin(admin.ModelAdmin):
    list_display = ("session", "file_name", "state", "progress", "width", "height", "duration_seconds",
                    "frames_per_second", "created_at")
    list_filter = ("state",)
    search_fields = ("file_name", "session__user__username", "error")
    list_select_related = ("session", "session__user")
    raw_id_fields = ("session",)

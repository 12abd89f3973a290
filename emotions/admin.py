from django.contrib import admin

from emotions.models import CaptureSession, Detection


@admin.register(CaptureSession)
class CaptureSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "started_at", "ended_at", "model_version", "frames_received",
                    "frames_processed", "frames_dropped")
    list_filter = ("started_at", "model_version")
    search_fields = ("user__username", "model_version")
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

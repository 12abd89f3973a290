"""Request and response shapes of /api/videos/."""

from __future__ import annotations

from rest_framework import serializers

from emotions.models import VideoAnalysis


class VideoUploadSerializer(serializers.Serializer):
    video = serializers.FileField(help_text="an MP4, MOV, WebM, MKV or AVI file")
    every = serializers.IntegerField(min_value=1, max_value=1000, default=1, help_text="analyse every Nth frame")
    max_seconds = serializers.FloatField(min_value=0.001, required=False, allow_null=True, default=None,
                                         help_text="analyse only this far into the video")
    keep_file = serializers.BooleanField(default=False, help_text="keep the file on the server after the analysis")


class VideoAnalysisSerializer(serializers.ModelSerializer):
    session = serializers.IntegerField(source="session_id", read_only=True,
                                       help_text="the session holding the detections (/api/sessions/{id}/)")
    file_kept = serializers.SerializerMethodField(help_text="whether the file is still on the server")

    class Meta:
        model = VideoAnalysis
        fields = ["session", "file_name", "size_bytes", "container", "width", "height", "fps", "frame_count",
                  "duration_seconds", "every", "max_seconds", "keep_file", "file_kept", "state", "progress",
                  "error", "frames_per_second", "created_at", "finished_at"]
        read_only_fields = fields

    def get_file_kept(self, analysis: VideoAnalysis) -> bool:
        return bool(analysis.stored_path)

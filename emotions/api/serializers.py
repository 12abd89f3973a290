"""Response (and request) shapes of the emotions API."""

from __future__ import annotations

from rest_framework import serializers

from emotions.models import EMOTION_CHOICES, CaptureSession, Detection
from emotions.selectors import DOMINANT_EMOTION_RULE


class EmotionFloatMap(serializers.Serializer):
    angry = serializers.FloatField()
    disgust = serializers.FloatField()
    fear = serializers.FloatField()
    happy = serializers.FloatField()
    sad = serializers.FloatField()
    surprise = serializers.FloatField()
    neutral = serializers.FloatField()


class EmotionCountMap(serializers.Serializer):
    angry = serializers.IntegerField()
    disgust = serializers.IntegerField()
    fear = serializers.IntegerField()
    happy = serializers.IntegerField()
    sad = serializers.IntegerField()
    surprise = serializers.IntegerField()
    neutral = serializers.IntegerField()


class CaptureSessionSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    detection_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = CaptureSession
        fields = ["id", "kind", "title", "note", "started_at", "ended_at", "duration_seconds", "model_label",
                  "frames_received", "frames_processed", "frames_dropped", "detection_count", "client_info"]
        read_only_fields = [name for name in fields if name not in ("title", "note")]  # PATCH changes these


class DetectionSerializer(serializers.ModelSerializer):
    box = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4, read_only=True,
                                help_text="x, y, width, height in pixels of the frame")
    scores = EmotionFloatMap(read_only=True)

    class Meta:
        model = Detection
        fields = ["id", "offset_ms", "frame_index", "face_index", "track", "box", "emotion", "scores"]
        read_only_fields = fields


class SessionSummarySerializer(serializers.Serializer):
    session = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    model_label = serializers.CharField()
    frames_received = serializers.IntegerField()
    frames_processed = serializers.IntegerField()
    frames_dropped = serializers.IntegerField()
    frames_with_faces = serializers.IntegerField()
    detections = serializers.IntegerField()
    dominant_emotion = serializers.ChoiceField(choices=EMOTION_CHOICES, allow_null=True,
                                               help_text=DOMINANT_EMOTION_RULE)
    counts = EmotionCountMap()
    shares = EmotionFloatMap()
    mean_scores = EmotionFloatMap()


class DailyEmotionMixSerializer(serializers.Serializer):
    day = serializers.DateField()
    sessions = serializers.IntegerField()
    detections = serializers.IntegerField()
    counts = EmotionCountMap()
    shares = EmotionFloatMap(help_text="share of the day's detections with each top emotion")


class FaceSerializer(serializers.Serializer):
    box = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4,
                                help_text="x, y, width, height in pixels")
    emotion = serializers.ChoiceField(choices=EMOTION_CHOICES)
    scores = EmotionFloatMap()


class PredictResponseSerializer(serializers.Serializer):
    faces = FaceSerializer(many=True, help_text="largest face first; empty when no face is found")


class PredictUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="a JPEG or PNG image")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()

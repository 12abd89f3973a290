"""Live capture sessions and the faces detected in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from emotions.recognition.labels import EMOTIONS

EMOTION_CHOICES = [(name, name.capitalize()) for name in EMOTIONS]


class EndReason(models.TextChoices):
    STOPPED = "stopped", "stopped by the user"
    DISCONNECTED = "disconnected", "connection closed"
    SWEPT = "swept", "no activity (connection lost)"


class CaptureSession(models.Model):
    """One webcam session of one user: from connect to stop, across reconnects that resume it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="capture_sessions")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    model_version = models.CharField(max_length=100, blank=True, help_text="label of the model that classified")
    frames_received = models.PositiveIntegerField(default=0)
    frames_processed = models.PositiveIntegerField(default=0)
    frames_dropped = models.PositiveIntegerField(default=0)
    client_info = models.JSONField(default=dict, blank=True, help_text="user agent, frame size, ...")
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="last write or keep-alive of its live connection; stale ones are swept"
    )
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    connection = models.CharField(max_length=32, blank=True, help_text="the live connection that owns it now")
    reconnects = models.PositiveIntegerField(default=0, help_text="times a new connection resumed it")
    detections_lost = models.PositiveIntegerField(
        default=0, help_text="detections answered but never written (the database stayed down)"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-started_at"], name="session_user_started_idx"),
            models.Index(fields=["last_seen_at"], condition=models.Q(ended_at__isnull=True), name="session_open_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="session_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(frames_processed__lte=models.F("frames_received")),
                name="session_processed_le_received",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.pk} of {self.user} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class Detection(models.Model):
    """One face in one frame: where it was and the seven emotion probabilities."""

    session = models.ForeignKey(CaptureSession, on_delete=models.CASCADE, related_name="detections")
    offset_ms = models.PositiveIntegerField(help_text="time since the session started")
    frame_index = models.PositiveIntegerField(help_text="the frame's number among the session's analysed frames")
    face_index = models.PositiveSmallIntegerField()
    x = models.PositiveIntegerField()
    y = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    emotion = models.CharField(max_length=16, choices=EMOTION_CHOICES)
    angry = models.FloatField()
    disgust = models.FloatField()
    fear = models.FloatField()
    happy = models.FloatField()
    sad = models.FloatField()
    surprise = models.FloatField()
    neutral = models.FloatField()

    class Meta:
        ordering = ["session", "offset_ms", "frame_index", "face_index"]
        indexes = [models.Index(fields=["session", "offset_ms"], name="detection_session_time_idx")]
        constraints = [
            models.UniqueConstraint(fields=["session", "frame_index", "face_index"], name="detection_unique_face"),
            models.CheckConstraint(condition=models.Q(width__gt=0, height__gt=0), name="detection_box_not_empty"),
            models.CheckConstraint(condition=models.Q(emotion__in=EMOTIONS), name="detection_known_emotion"),
        ]

    def __str__(self) -> str:
        return f"{self.emotion} at {self.offset_ms} ms (frame {self.frame_index}, face {self.face_index})"

    @property
    def box(self) -> list[int]:
        return [self.x, self.y, self.width, self.height]

    @property
    def scores(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in EMOTIONS}

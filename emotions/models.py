"""Live capture sessions and the faces detected in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from training.core.labels import EMOTIONS

EMOTION_CHOICES = [(name, name.capitalize()) for name in EMOTIONS]


class EndReason(models.TextChoices):
    STOPPED = "stopped", "stopped by the user"
    DISCONNECTED = "disconnected", "connection closed"
    SWEPT = "swept", "no activity (connection lost)"


class CaptureSession(models.Model):
    """One webcam session of one user (from connect to stop, across reconnects that resume it), or
    one analysed video file."""

    TITLE_MAX_LENGTH = 100
    NOTE_MAX_LENGTH = 2000

    class Kind(models.TextChoices):
        LIVE = "live", "Live"
        VIDEO = "video", "Video"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LIVE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="capture_sessions")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    model_label = models.CharField(max_length=100, blank=True, help_text="label of the model that classified")
    frames_received = models.PositiveIntegerField(default=0)
    frames_processed = models.PositiveIntegerField(default=0)
    frames_dropped = models.PositiveIntegerField(default=0)
    client_info = models.JSONField(default=dict, blank=True, help_text="user agent, frame size, ...")
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="last write or keep-alive of its live connection; stale ones are swept"
    )
    # Database defaults too: the code running during an upgrade inserts sessions without these columns.
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True, default="", db_default="")
    connection = models.CharField(max_length=32, blank=True, default="", db_default="",
                                  help_text="the live connection that owns it now")
    reconnects = models.PositiveIntegerField(default=0, db_default=0, help_text="times a new connection resumed it")
    detections_lost = models.PositiveIntegerField(
        default=0, db_default=0, help_text="detections answered but never written (the database stayed down)"
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True, default="", db_default="",
                             help_text="a short name the user gave the session")
    note = models.TextField(max_length=NOTE_MAX_LENGTH, blank=True, default="", db_default="",
                            help_text="the user's own note on the session")

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
        """How long the session lasted; for a video, the part of the video analysed."""
        if self.ended_at is None:
            return None
        if self.kind == self.Kind.VIDEO and hasattr(self, "video"):
            return self.video.analysed_seconds
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
    track = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="the same number (from 1) for the same face across a session's frames; empty in older live sessions",
    )
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


class VideoAnalysis(models.Model):
    """The video file behind a session of kind `video`: what it is, the options, and how far the
    analysis has got. Detections are stored on the session as for a live one."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    session = models.OneToOneField(CaptureSession, on_delete=models.CASCADE, related_name="video")
    file_name = models.CharField(max_length=255, help_text="the name of the file as uploaded")
    stored_path = models.CharField(max_length=500, blank=True, help_text="where the file is; empty once deleted")
    keep_file = models.BooleanField(default=False, help_text="keep the file after the analysis")
    size_bytes = models.PositiveBigIntegerField(default=0)
    container = models.CharField(max_length=16, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0)
    frame_count = models.PositiveIntegerField(default=0, help_text="frames in the file, from its header")
    duration_seconds = models.FloatField(default=0, help_text="length of the whole file")
    every = models.PositiveIntegerField(default=1, help_text="analyse every Nth frame")
    max_seconds = models.FloatField(null=True, blank=True, help_text="analyse only this far into the video")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.FloatField(default=0, help_text="share of the frames to analyse done, 0 to 1")
    error = models.TextField(blank=True, help_text="why the analysis failed, for the user")
    frames_per_second = models.FloatField(null=True, blank=True, help_text="analysis speed: video frames per second")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "video analyses"
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__gte=0, progress__lte=1), name="video_progress_0_1"),
            models.CheckConstraint(condition=models.Q(every__gte=1), name="video_every_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"

    @property
    def analysed_seconds(self) -> float:
        if self.max_seconds is None:
            return self.duration_seconds
        return min(self.duration_seconds, self.max_seconds)

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from emotions.models import CaptureSession, Detection
from tests.factories import CaptureSessionFactory, DetectionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_sessions_are_ordered_newest_first():
    user = UserFactory()
    older = CaptureSessionFactory(user=user)
    newer = CaptureSessionFactory(user=user, started_at=older.started_at + timedelta(minutes=5))
    assert list(CaptureSession.objects.filter(user=user)) == [newer, older]


def test_detections_are_ordered_by_time_then_face():
    session = CaptureSessionFactory()
    late = DetectionFactory(session=session, offset_ms=900, frame_index=9)
    early_second = DetectionFactory(session=session, offset_ms=100, frame_index=1, face_index=1)
    early_first = DetectionFactory(session=session, offset_ms=100, frame_index=1, face_index=0)
    assert list(session.detections.all()) == [early_first, early_second, late]
    assert early_first.box == [10, 20, 100, 100]
    assert pytest.approx(sum(early_first.scores.values())) == 1.0


def test_a_face_is_stored_once_per_frame():
    detection = DetectionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DetectionFactory(session=detection.session, frame_index=detection.frame_index, face_index=0)


def test_empty_boxes_and_unknown_emotions_are_refused():
    session = CaptureSessionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DetectionFactory(session=session, width=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        DetectionFactory(session=session, emotion="bored")


def test_session_cannot_end_before_it_starts_or_process_more_than_it_received():
    session = CaptureSessionFactory()
    session.ended_at = session.started_at - timedelta(seconds=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        session.save()
    session.refresh_from_db()
    session.frames_processed = session.frames_received + 1
    with pytest.raises(IntegrityError), transaction.atomic():
        session.save()


def test_deleting_a_session_deletes_its_detections():
    detection = DetectionFactory()
    detection.session.delete()
    assert not Detection.objects.exists()


def test_duration():
    session = CaptureSessionFactory()
    assert session.duration_seconds is None
    session.ended_at = session.started_at + timedelta(seconds=42)
    assert session.duration_seconds == 42

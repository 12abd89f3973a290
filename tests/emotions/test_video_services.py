"""Video analysis end to end: upload → checks → task → detections in a session of kind `video`."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emotions import tasks, video_services
from emotions.models import CaptureSession, Detection, VideoAnalysis
from emotions.recognition.video import VideoError
from emotions.video_services import VideoOptions, receive_video
from tests.emotions.video_support import blank_video, face_frames, face_video, write_video


@pytest.fixture
def upload_dir(settings, tmp_path) -> Path:
    settings.VIDEO_UPLOAD_DIR = tmp_path / "uploads"
    return settings.VIDEO_UPLOAD_DIR


def as_upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="video/mp4")


def receive(user, path, django_capture_on_commit_callbacks, **options) -> VideoAnalysis:
    with django_capture_on_commit_callbacks() as callbacks:
        analysis = receive_video(user=user, upload=as_upload(path), options=VideoOptions(**options))
    assert len(callbacks) == 1  # the job is sent once the upload is committed
    return analysis


def test_a_video_becomes_a_session_with_tracked_detections(recognition_model, upload_dir, user, tmp_path,
                                                           django_capture_on_commit_callbacks, client):
    analysis = receive(user, face_video(tmp_path / "me.mp4", 30), django_capture_on_commit_callbacks)
    assert analysis.state == "queued" and analysis.file_name == "me.mp4"
    assert (analysis.width, analysis.height, analysis.fps, analysis.frame_count) == (640, 480, 30, 30)
    stored = Path(analysis.stored_path)
    assert stored.parent == upload_dir and stored.is_file()

    assert tasks.analyse_video_task(analysis.pk) == "done"
    analysis.refresh_from_db()
    session = analysis.session
    assert analysis.progress == 1 and analysis.frames_per_second > 0 and analysis.error == ""
    assert session.kind == CaptureSession.Kind.VIDEO and session.ended_at is not None
    assert session.frames_processed == session.frames_received == 30
    assert session.duration_seconds == pytest.approx(1.0)
    detections = list(session.detections.order_by("frame_index"))
    assert [d.frame_index for d in detections] == list(range(30))
    assert {d.track for d in detections} == {1} and {d.face_index for d in detections} == {0}
    assert detections[3].offset_ms == 100
    assert not stored.exists() and analysis.stored_path == ""  # deleted after the analysis

    client.force_login(user)
    page = client.get(f"/history/{session.pk}/")
    assert page.status_code == 200 and "me.mp4" in page.content.decode()
    csv = client.get(f"/history/{session.pk}/export.csv").getvalue().decode().splitlines()
    assert len(csv) == 31
    assert tasks.analyse_video_task(analysis.pk) == "skipped"  # a redelivered message does nothing


def test_options_every_nth_frame_max_seconds_and_keep_file(recognition_model, upload_dir, user, tmp_path,
                                                           django_capture_on_commit_callbacks):
    analysis = receive(user, face_video(tmp_path / "me.mp4", 30), django_capture_on_commit_callbacks,
                       every=4, max_seconds=0.5, keep_file=True)
    tasks.analyse_video_task(analysis.pk)
    analysis.refresh_from_db()
    frames = sorted(set(Detection.objects.filter(session=analysis.session).values_list("frame_index", flat=True)))
    assert frames == [0, 4, 8, 12]
    assert analysis.session.duration_seconds == pytest.approx(0.5)
    assert Path(analysis.stored_path).is_file()  # kept as asked


def test_refusals_at_upload_store_nothing(recognition_model, upload_dir, user, tmp_path, settings):
    text = tmp_path / "notes.mp4"
    text.write_text("hello " * 100)
    with pytest.raises(VideoError, match="not a video"):
        receive_video(user=user, upload=as_upload(text), options=VideoOptions())
    settings.VIDEO_MAX_PIXELS = 320 * 240 - 1
    with pytest.raises(VideoError, match="320x240 pixels"):
        receive_video(user=user, upload=as_upload(blank_video(tmp_path / "b.avi")), options=VideoOptions())
    settings.VIDEO_MAX_BYTES = 100
    with pytest.raises(video_services.VideoTooLarge, match="the limit is 0 MB"):
        receive_video(user=user, upload=as_upload(blank_video(tmp_path / "c.avi")), options=VideoOptions())
    assert not CaptureSession.objects.exists() and not VideoAnalysis.objects.exists()
    assert list(upload_dir.iterdir()) == []


def test_a_long_video_is_refused_unless_only_its_start_is_asked_for(recognition_model, upload_dir, user,
                                                                     tmp_path, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.VIDEO_MAX_SECONDS = 2
    path = blank_video(tmp_path / "long.webm", 30, fps=10)
    with pytest.raises(VideoError, match="lasts 0:03; at most 0:02 can be analysed"):
        receive_video(user=user, upload=as_upload(path), options=VideoOptions())
    analysis = receive(user, path, django_capture_on_commit_callbacks, max_seconds=2)
    assert tasks.analyse_video_task(analysis.pk) == "done"
    assert VideoAnalysis.objects.get().session.frames_processed == 20


def test_a_video_found_truncated_while_analysed_fails_without_detections(recognition_model, upload_dir, user,
                                                                          tmp_path,
                                                                          django_capture_on_commit_callbacks):
    data = write_video(tmp_path / "face.webm", face_frames(40)).read_bytes()
    cut = tmp_path / "cut.webm"
    cut.write_bytes(data[: len(data) // 2])
    analysis = receive(user, cut, django_capture_on_commit_callbacks)
    assert tasks.analyse_video_task(analysis.pk) == "failed"
    analysis.refresh_from_db()
    assert analysis.state == "failed" and "truncated" in analysis.error
    assert not Detection.objects.exists()  # the batches written before the end was noticed are gone
    assert analysis.session.frames_processed == 0 and analysis.stored_path == ""
    assert not list(upload_dir.iterdir())


def test_the_job_is_sent_to_the_workers_after_commit(recognition_model, upload_dir, user, tmp_path, settings,
                                                     monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks.analyse_video_task, "apply_async", lambda args, **options: sent.append((args, options)))
    with django_capture_on_commit_callbacks(execute=True):
        analysis = receive_video(user=user, upload=as_upload(blank_video(tmp_path / "a.avi")),
                                 options=VideoOptions())
    settings.VIDEO_QUEUE = "videos"
    with django_capture_on_commit_callbacks(execute=True):
        second = receive_video(user=user, upload=as_upload(blank_video(tmp_path / "b.avi")), options=VideoOptions())
    assert sent == [((analysis.pk,), {}), ((second.pk,), {"queue": "videos"})]

    def unreachable(args, **options):
        raise ConnectionError("no broker")

    monkeypatch.setattr(tasks.analyse_video_task, "apply_async", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        analysis = receive_video(user=user, upload=as_upload(blank_video(tmp_path / "c.avi")),
                                 options=VideoOptions())
    analysis.refresh_from_db()
    assert analysis.state == "failed" and "task queue" in analysis.error


def test_deleting_a_video_session_deletes_its_kept_file(recognition_model, upload_dir, user, tmp_path,
                                                        django_capture_on_commit_callbacks):
    from emotions.data_services import delete_session

    analysis = receive(user, blank_video(tmp_path / "a.avi"), django_capture_on_commit_callbacks, keep_file=True)
    tasks.analyse_video_task(analysis.pk)
    analysis.refresh_from_db()
    assert Path(analysis.stored_path).is_file()
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the deletion commits
        delete_session(session=analysis.session)
    assert not list(upload_dir.iterdir()) and not VideoAnalysis.objects.exists()


def test_options_are_checked():
    with pytest.raises(VideoError, match="every"):
        VideoOptions(every=0)
    with pytest.raises(VideoError, match="max_seconds"):
        VideoOptions(max_seconds=0)

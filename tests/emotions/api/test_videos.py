from pathlib import Path

import pytest

from emotions import tasks
from emotions.models import VideoAnalysis
from tests.emotions.video_support import face_video


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path) -> Path:
    settings.VIDEO_UPLOAD_DIR = tmp_path / "uploads"
    return settings.VIDEO_UPLOAD_DIR


@pytest.fixture
def clip(tmp_path) -> Path:
    return face_video(tmp_path / "clip.mp4", 12)


def post_video(api, path: Path, **fields):
    with path.open("rb") as file:
        return api.post("/api/videos/", {"video": file, **fields}, format="multipart")


def test_upload_then_poll_until_done(recognition_model, alice_api, clip, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_video(alice_api, clip, every=2)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "queued" and body["file_name"] == "clip.mp4" and body["every"] == 2
    assert body["frame_count"] == 12 and body["file_kept"] is True and len(callbacks) == 1

    tasks.analyse_video_task(VideoAnalysis.objects.get().pk)
    video = alice_api.get(f"/api/videos/{body['session']}/").json()
    assert (video["state"], video["progress"], video["file_kept"]) == ("done", 1.0, False)
    session = alice_api.get(f"/api/sessions/{body['session']}/").json()
    assert session["kind"] == "video" and session["frames_processed"] == 6
    detections = alice_api.get(f"/api/sessions/{body['session']}/detections/").json()
    assert [d["frame_index"] for d in detections["results"]] == [0, 2, 4, 6, 8, 10]
    assert alice_api.get("/api/videos/").json()["count"] == 1


@pytest.mark.parametrize(("content", "reason"), [(b"", "empty"), (b"GIF89a" + b"\x00" * 100, "not a video file")])
def test_bad_files_are_refused_with_the_reason(recognition_model, alice_api, tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    response = post_video(alice_api, path)
    assert response.status_code == 400
    assert reason in str(response.json())
    assert not VideoAnalysis.objects.exists()


def test_bad_options_are_400(recognition_model, alice_api, clip):
    assert post_video(alice_api, clip, every=0).status_code == 400
    assert alice_api.post("/api/videos/", {"every": 1}, format="multipart").status_code == 400


def test_over_the_size_limit_is_413(recognition_model, alice_api, clip, settings):
    settings.VIDEO_MAX_BYTES = clip.stat().st_size - 1
    response = post_video(alice_api, clip)
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    settings.VIDEO_MAX_BYTES = 1000  # the body's declared length is refused before it is read
    assert post_video(alice_api, clip).status_code == 413


def test_videos_are_private(recognition_model, alice_api, api_client, other_user, clip,
                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        session = post_video(alice_api, clip).json()["session"]
    assert api_client.get("/api/videos/").status_code in (401, 403)
    assert post_video(api_client, clip).status_code in (401, 403)
    api_client.force_authenticate(other_user)
    assert api_client.get(f"/api/videos/{session}/").status_code == 404
    assert api_client.get("/api/videos/").json()["count"] == 0

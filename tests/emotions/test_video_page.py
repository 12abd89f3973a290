from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emotions import tasks
from emotions.models import VideoAnalysis
from tests.emotions.video_support import face_video


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path) -> Path:
    settings.VIDEO_UPLOAD_DIR = tmp_path / "uploads"
    return settings.VIDEO_UPLOAD_DIR


def test_the_page_needs_a_login(client):
    assert client.get("/videos/").status_code == 302


def test_upload_from_the_page_then_see_progress_and_results(recognition_model, user_client, tmp_path,
                                                            django_capture_on_commit_callbacks):
    page = user_client.get("/videos/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    clip = face_video(tmp_path / "party.mp4", 6)
    with django_capture_on_commit_callbacks():
        response = user_client.post("/videos/", {
            "video": SimpleUploadedFile("party.mp4", clip.read_bytes()), "every": 1, "keep_file": "on"})
    assert response.status_code == 302
    analysis = VideoAnalysis.objects.get()
    assert analysis.keep_file is True
    listed = user_client.get("/videos/").content.decode()
    assert "party.mp4" in listed and "<progress" in listed and f'data-video="{analysis.session_id}"' in listed
    tasks.analyse_video_task(analysis.pk)
    listed = user_client.get("/videos/").content.decode()
    assert f"/history/{analysis.session_id}/" in listed
    assert "video party.mp4" in user_client.get("/history/").content.decode()


def test_a_refused_file_shows_the_reason_on_the_form(recognition_model, user_client):
    response = user_client.post("/videos/", {"video": SimpleUploadedFile("x.mp4", b"not a video"), "every": 1})
    assert response.status_code == 200
    assert "not a video file" in response.content.decode() and not VideoAnalysis.objects.exists()

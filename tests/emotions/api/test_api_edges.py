"""Edges of the API: unknown URLs answer JSON, and a chunked upload is read, not taken for empty."""

import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.urls import reverse
from rest_framework.authtoken.models import Token

from bench.frames import astronaut_bgr, encode_jpeg, place_in_frame
from fer_site.asgi import application

TIMEOUT = 30


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/nope/", "/api/sessions/abc/", "/api/models/1/deactivate/", "/api/x"])
def test_an_unknown_api_url_answers_json_404(user_client, path):
    response = user_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_pages_keep_their_html_404_and_api_urls_their_trailing_slash_redirect(user_client):
    response = user_client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    response = user_client.get("/api/sessions")
    assert response.status_code == 301 and response["Location"] == "/api/sessions/"


async def post_chunked(path: str, token: str, content_type: str, chunks: list[bytes]) -> tuple[int, dict]:
    """POST through the ASGI application as a server does for `Transfer-Encoding: chunked`:
    no Content-Length, the body in several `http.request` messages."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", content_type.encode()),
                    (b"transfer-encoding", b"chunked"), (b"authorization", f"Token {token}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    for index, chunk in enumerate(chunks):
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1})
    start = await communicator.receive_output(TIMEOUT)
    body = b""
    while True:
        message = await communicator.receive_output(TIMEOUT)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], json.loads(body)


@pytest.fixture
def token(user) -> str:
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)
async def test_a_chunked_raw_image_is_read_whole(recognition_model, token):
    jpeg = encode_jpeg(place_in_frame(astronaut_bgr(), 110, 30))
    chunks = [jpeg[i : i + 4096] for i in range(0, len(jpeg), 4096)]
    status, body = await post_chunked(reverse("api-predict"), token, "image/jpeg", chunks)
    assert status == 200, body
    assert len(body["faces"]) == 1


@pytest.mark.django_db(transaction=True)
async def test_a_chunked_raw_image_over_the_limit_is_413(recognition_model, token, settings):
    settings.PREDICT_MAX_BYTES = 10_000
    status, body = await post_chunked(reverse("api-predict"), token, "image/jpeg", [b"\xff\xd8\xff" + b"\0" * 6000] * 2)
    assert status == 413 and "the limit is 10,000 bytes" in body["detail"]


@pytest.mark.django_db(transaction=True)
async def test_a_chunked_multipart_upload_is_refused_with_411(recognition_model, token):
    status, body = await post_chunked(reverse("api-predict"), token, "multipart/form-data; boundary=x",
                                      [b"--x\r\n", b"..."])
    assert status == 411 and "Content-Length" in body["detail"]

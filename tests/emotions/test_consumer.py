"""The live WebSocket protocol, through Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import shutil
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from emotions import active_model, consumers, live_writer, services
from emotions.models import CaptureSession, Detection
from emotions.routing import websocket_urlpatterns
from fer_site.asgi import application
from training.core.labels import EMOTIONS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recognition_model")]

TIMEOUT = 20  # seconds: generous, the machine may be busy


async def open_socket(user, *, headers=()) -> tuple[WebsocketCommunicator, dict]:
    """A connected communicator for `user` and the `session` message that opens the conversation."""
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), "/ws/live/", headers=[(b"user-agent", b"pytest-agent/1.0"), *headers]
    )
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    hello = await communicator.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "session"
    return communicator, hello


async def send_frame(communicator: WebsocketCommunicator, data: bytes) -> None:
    """A binary message (also an empty one, which `send_to` refuses)."""
    await communicator.send_input({"type": "websocket.receive", "bytes": data})


async def receive(communicator: WebsocketCommunicator) -> dict:
    return await communicator.receive_json_from(timeout=TIMEOUT)


@sync_to_async
def get_session(session_id: int) -> CaptureSession:
    return CaptureSession.objects.get(pk=session_id)


@sync_to_async
def detection_count(session_id: int) -> int:
    return Detection.objects.filter(session_id=session_id).count()


async def test_a_frame_is_answered_with_the_faces_and_stored(user, face_jpeg, tiny_model_dir):
    communicator, hello = await open_socket(user)
    assert hello["model"] == tiny_model_dir.name
    await send_frame(communicator, face_jpeg)
    result = await receive(communicator)

    assert result["type"] == "result"
    assert result["frame"] == 0
    assert isinstance(result["ms"], float) and result["ms"] >= 0
    (face,) = result["faces"]
    assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
    assert face["box"][2] > 40 and face["box"][3] > 40
    assert face["emotion"] in EMOTIONS
    assert list(face["scores"]) == list(EMOTIONS)
    assert face["emotion"] == max(face["scores"], key=face["scores"].get)
    await communicator.disconnect(timeout=TIMEOUT)

    session = await get_session(hello["id"])
    assert session.user_id == user.pk
    assert session.ended_at is not None
    assert session.model_label == await sync_to_async(active_model.current_model_label)() == tiny_model_dir.name
    assert (session.frames_received, session.frames_processed, session.frames_dropped) == (1, 1, 0)
    assert session.client_info["user_agent"] == "pytest-agent/1.0"
    detection = await sync_to_async(Detection.objects.get)(session=session)
    assert (detection.frame_index, detection.face_index) == (0, 0)
    assert detection.box == face["box"]
    assert detection.emotion == face["emotion"]
    assert detection.scores == pytest.approx(face["scores"])


async def test_anonymous_connections_are_refused():
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/")
    communicator.scope["user"] = AnonymousUser()
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert not connected
    await communicator.disconnect(timeout=TIMEOUT)  # the server's side ends, not left for teardown to cancel
    assert await sync_to_async(CaptureSession.objects.count)() == 0


async def test_the_django_session_cookie_authenticates_through_the_asgi_application(user):
    origin = (b"origin", b"http://testserver")
    anonymous = WebsocketCommunicator(application, "/ws/live/", headers=[origin])
    connected, _ = await anonymous.connect(timeout=TIMEOUT)
    assert not connected
    await anonymous.disconnect(timeout=TIMEOUT)

    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    signed_in = WebsocketCommunicator(application, "/ws/live/", headers=[origin, (b"cookie", cookie)])
    connected, _ = await signed_in.connect(timeout=TIMEOUT)
    assert connected
    hello = await signed_in.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "session"
    await signed_in.disconnect(timeout=TIMEOUT)
    assert (await get_session(hello["id"])).user_id == user.pk


@pytest.mark.parametrize(
    ("make_frame", "message"),
    [
        (lambda jpeg, limit: b"", "empty"),
        (lambda jpeg, limit: b"GIF89a not what we take", "not a JPEG or PNG"),
        (lambda jpeg, limit: jpeg[: len(jpeg) // 2], "truncated"),
        (lambda jpeg, limit: jpeg + b"\0" * (limit + 1 - len(jpeg)), "limit is 2 MB"),
    ],
    ids=["empty", "not-an-image", "truncated", "oversized"],
)
async def test_a_bad_frame_gets_an_error_and_the_session_goes_on(user, face_jpeg, settings, make_frame, message):
    communicator, hello = await open_socket(user)
    await send_frame(communicator, make_frame(face_jpeg, settings.MAX_FRAME_BYTES))
    error = await receive(communicator)
    assert error["type"] == "error"
    assert error["frame"] == 0
    assert message in error["error"]

    await send_frame(communicator, face_jpeg)
    result = await receive(communicator)
    assert result["type"] == "result" and result["frame"] == 1 and len(result["faces"]) == 1
    await communicator.disconnect(timeout=TIMEOUT)
    session = await get_session(hello["id"])
    assert (session.frames_received, session.frames_processed) == (2, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("this is not JSON", "invalid JSON"),
        ("", "invalid JSON"),
        ("[1, 2]", '"type"'),
        ('{"kind": "start"}', '"type"'),
        ('{"type": "dance"}', "unknown message type 'dance'"),
    ],
)
async def test_a_bad_control_message_gets_an_error_and_the_session_goes_on(user, face_jpeg, text, message):
    communicator, _ = await open_socket(user)
    await communicator.send_input({"type": "websocket.receive", "text": text})
    error = await receive(communicator)
    assert error["type"] == "error"
    assert message in error["error"]

    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["type"] == "result"
    await communicator.disconnect(timeout=TIMEOUT)


async def test_frames_beyond_two_in_flight_are_dropped_and_counted(user, face_jpeg, monkeypatch):
    release = threading.Event()
    real_analyse = services.analyse_frame

    def slow_analyse(stream, data):
        release.wait(TIMEOUT)
        return real_analyse(stream, data)

    monkeypatch.setattr(services, "analyse_frame", slow_analyse)
    communicator, hello = await open_socket(user)
    for _ in range(5):
        await send_frame(communicator, face_jpeg)
    dropped = [await receive(communicator) for _ in range(3)]
    assert dropped == [{"type": "dropped", "frame": frame} for frame in (2, 3, 4)]

    release.set()
    results = [await receive(communicator) for _ in range(2)]
    assert [(r["type"], r["frame"]) for r in results] == [("result", 0), ("result", 1)]
    await communicator.disconnect(timeout=TIMEOUT)

    session = await get_session(hello["id"])
    assert (session.frames_received, session.frames_processed, session.frames_dropped) == (5, 2, 3)
    assert await detection_count(hello["id"]) == 2


async def test_every_answered_face_is_written_before_its_answer(user, face_jpeg, monkeypatch):
    """A process that dies right after an answer has lost nothing the user saw."""
    monkeypatch.setattr(consumers, "FLUSH_INTERVAL", 3600)  # no periodic writes: only the write-through
    communicator, hello = await open_socket(user)
    for frame in range(3):
        await send_frame(communicator, face_jpeg)
        assert (await receive(communicator))["frame"] == frame
        assert await detection_count(hello["id"]) == frame + 1
    session = await get_session(hello["id"])
    assert session.ended_at is None
    assert (session.frames_received, session.frames_processed) == (3, 3)
    await communicator.disconnect(timeout=TIMEOUT)
    assert (await get_session(hello["id"])).end_reason == "disconnected"


async def test_a_failed_write_keeps_the_detections_for_the_next_one(user, face_jpeg, monkeypatch):
    """The database hiccups once (e.g. SQLite "database is locked"): nothing detected is lost."""
    from django.db import OperationalError

    real_save, failures = services.save_batches, []

    def save_batches_failing_once(batches):
        if not failures and batches[0].detection_count:
            failures.append(batches[0].detection_count)
            raise OperationalError("database is locked")
        return real_save(batches)

    monkeypatch.setattr(services, "save_batches", save_batches_failing_once)
    monkeypatch.setattr(consumers, "FLUSH_INTERVAL", 3600)
    communicator, hello = await open_socket(user)
    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["frame"] == 0  # answered although its write failed
    assert await detection_count(hello["id"]) == 0
    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["frame"] == 1
    assert await detection_count(hello["id"]) == 2  # the second write carried both frames
    await communicator.disconnect(timeout=TIMEOUT)

    assert failures == [1]  # the first write, with frame 0's face, failed
    frames = await sync_to_async(list)(Detection.objects.filter(session_id=hello["id"]).values_list("frame_index",
                                                                                                   flat=True))
    assert sorted(frames) == [0, 1]
    assert (await get_session(hello["id"])).ended_at is not None


async def test_writes_failing_at_disconnect_are_retried_until_the_database_is_back(user, face_jpeg, monkeypatch):
    """A short outage while the client leaves: the detections wait in memory and are written."""
    from django.db import OperationalError

    real_save, attempts = services.save_batches, []

    def save_batches_down_for_a_while(batches):
        attempts.append(sum(batch.detection_count for batch in batches))
        if len(attempts) <= 4:
            raise OperationalError("the database system is shutting down")
        return real_save(batches)

    monkeypatch.setattr(services, "save_batches", save_batches_down_for_a_while)
    monkeypatch.setattr(consumers, "FLUSH_INTERVAL", 3600)
    communicator, hello = await open_socket(user)
    for frame in range(3):
        await send_frame(communicator, face_jpeg)
        assert (await receive(communicator))["frame"] == frame
    await communicator.disconnect(timeout=TIMEOUT)

    assert len(attempts) == 5 and attempts[-1] == 3
    assert await detection_count(hello["id"]) == 3
    session = await get_session(hello["id"])
    assert session.ended_at is not None and session.detections_lost == 0


async def test_detections_that_cannot_be_written_in_time_are_counted_as_lost(user, face_jpeg, monkeypatch, settings):
    from django.db import OperationalError

    def save_batches_down(batches):
        raise OperationalError("could not connect to server")

    settings.SESSION_WRITE_RETRY_SECONDS = 1
    monkeypatch.setattr(services, "save_batches", save_batches_down)
    communicator, hello = await open_socket(user)
    for frame in range(2):
        await send_frame(communicator, face_jpeg)
        assert (await receive(communicator))["frame"] == frame
    await communicator.disconnect(timeout=TIMEOUT)

    session = await get_session(hello["id"])
    assert session.detections_lost == 2
    assert await detection_count(hello["id"]) == 0


async def test_a_dead_database_connection_at_stop_is_replaced_and_nothing_is_lost(user, face_jpeg):
    """PostgreSQL: the connection the detection writer keeps dies (a restart, a failover) between two
    frames; the next write fails on it, is retried on a new one, and nothing is lost."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (CI runs it)")
    communicator, hello = await open_socket(user)
    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["frame"] == 0

    def backend_pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    async def backend_of_the_writes() -> int:  # the writer thread's kept connection
        return await asyncio.get_running_loop().run_in_executor(live_writer.WRITER_EXECUTOR, backend_pid)

    def terminate(backend: int) -> None:
        import psycopg

        with psycopg.connect(services_url(connection), autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone()[0]

    first_backend = await backend_of_the_writes()
    await sync_to_async(terminate, thread_sensitive=False)(first_backend)
    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["frame"] == 1
    await communicator.send_json_to({"type": "stop"})
    stopped = await receive(communicator)
    assert stopped["type"] == "stopped" and stopped["faces"] == 2
    await communicator.disconnect(timeout=TIMEOUT)
    assert await detection_count(hello["id"]) == 2
    session = await get_session(hello["id"])
    assert session.end_reason == "stopped" and session.detections_lost == 0
    assert await backend_of_the_writes() != first_backend  # a new connection took over


def services_url(connection) -> str:
    config = connection.settings_dict
    return (f"host={config['HOST'] or 'localhost'} port={config['PORT'] or 5432} dbname={config['NAME']} "
            f"user={config['USER'] or 'postgres'}" + (f" password={config['PASSWORD']}" if config["PASSWORD"] else ""))


async def open_socket_at(user, path: str) -> tuple[WebsocketCommunicator, dict]:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator, await receive(communicator)


async def test_a_reconnect_resumes_the_session_and_continues_its_frames(user, face_jpeg):
    first, hello = await open_socket(user)
    for _ in range(2):
        await send_frame(first, face_jpeg)
        await receive(first)
    await first.disconnect(timeout=TIMEOUT)
    assert (await get_session(hello["id"])).end_reason == "disconnected"

    second, again = await open_socket_at(user, f"/ws/live/?resume={hello['id']}")
    assert again["type"] == "session" and again["id"] == hello["id"] and again["resumed"] is True
    session = await get_session(hello["id"])
    assert session.ended_at is None and session.reconnects == 1
    await send_frame(second, face_jpeg)
    result = await receive(second)
    assert result["frame"] == 0  # frames are numbered per connection
    await second.send_json_to({"type": "stop"})
    assert (await receive(second))["type"] == "stopped"
    await second.disconnect(timeout=TIMEOUT)

    session = await get_session(hello["id"])
    assert (session.frames_received, session.frames_processed, session.end_reason) == (3, 3, "stopped")
    frames = await sync_to_async(list)(
        Detection.objects.filter(session_id=hello["id"]).order_by("frame_index").values_list("frame_index", "offset_ms")
    )
    assert [index for index, _ in frames] == [0, 1, 2]
    assert frames[2][1] >= frames[1][1]  # the timeline goes on from the session's start


async def test_a_session_is_not_resumed_when_stopped_stale_or_someone_elses(user, other_user, face_jpeg, settings):
    first, hello = await open_socket(user)
    await first.send_json_to({"type": "stop"})
    assert (await receive(first))["type"] == "stopped"
    await first.disconnect(timeout=TIMEOUT)
    stopped_try, fresh = await open_socket_at(user, f"/ws/live/?resume={hello['id']}")
    assert fresh["id"] != hello["id"] and fresh["resumed"] is False
    await stopped_try.disconnect(timeout=TIMEOUT)

    stranger, theirs = await open_socket_at(other_user, f"/ws/live/?resume={fresh['id']}")
    assert theirs["id"] != fresh["id"] and theirs["resumed"] is False
    await stranger.disconnect(timeout=TIMEOUT)

    settings.SESSION_RESUME_SECONDS = 0
    late, new = await open_socket_at(user, f"/ws/live/?resume={fresh['id']}")
    assert new["id"] != fresh["id"] and new["resumed"] is False
    await late.disconnect(timeout=TIMEOUT)
    assert (await get_session(fresh["id"])).end_reason == "disconnected"

    for path in ("/ws/live/?resume=abc", "/ws/live/?resume=99999999999999999999999"):
        junk, hello = await open_socket_at(user, path)
        assert hello["type"] == "session" and hello["resumed"] is False
        await junk.disconnect(timeout=TIMEOUT)


async def test_a_session_deleted_while_running_goes_on_without_recording(user, face_jpeg):
    communicator, hello = await open_socket(user)
    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["type"] == "result"
    await sync_to_async(CaptureSession.objects.filter(pk=hello["id"]).delete)()

    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["type"] == "result"
    await communicator.send_json_to({"type": "stop"})
    stopped = await receive(communicator)
    assert stopped["type"] == "stopped" and stopped["processed"] == 2
    await communicator.disconnect(timeout=TIMEOUT)
    assert not await sync_to_async(CaptureSession.objects.filter(pk=hello["id"]).exists)()
    assert await detection_count(hello["id"]) == 0


async def test_stop_and_start_messages_end_and_begin_sessions(user, face_jpeg):
    communicator, first = await open_socket(user)
    await communicator.send_json_to({"type": "start", "width": 640, "height": 480})
    again = await receive(communicator)
    assert again["type"] == "session" and again["id"] == first["id"]  # a running session is kept

    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["type"] == "result"
    await communicator.send_json_to({"type": "stop"})
    stopped = await receive(communicator)
    assert stopped == {"type": "stopped", "id": first["id"], "frames": 1, "processed": 1, "dropped": 0, "faces": 1}
    session = await get_session(first["id"])
    assert session.ended_at is not None
    assert session.client_info == {"user_agent": "pytest-agent/1.0", "frame_size": [640, 480]}
    assert await detection_count(first["id"]) == 1

    await send_frame(communicator, face_jpeg)
    assert "no session is running" in (await receive(communicator))["error"]
    await communicator.send_json_to({"type": "stop"})
    assert "no session is running" in (await receive(communicator))["error"]

    await communicator.send_json_to({"type": "start", "width": 320, "height": 240})
    second = await receive(communicator)
    assert second["type"] == "session" and second["id"] != first["id"]
    await send_frame(communicator, face_jpeg)
    result = await receive(communicator)
    assert result["type"] == "result" and result["frame"] == 0
    await communicator.disconnect(timeout=TIMEOUT)

    session = await get_session(second["id"])
    assert session.ended_at is not None and session.client_info["frame_size"] == [320, 240]
    assert await detection_count(second["id"]) == 1


async def test_model_activated_broadcast_switches_the_model(user, face_jpeg, tiny_model_dir, tmp_path):
    new_model_dir = tmp_path / "fernet-v2"
    new_model_dir.mkdir()
    shutil.copy(tiny_model_dir / active_model.MODEL_FILE, new_model_dir / active_model.MODEL_FILE)
    communicator, _ = await open_socket(user)

    event = {"type": "model.activated", "model_dir": str(new_model_dir), "label": "fernet v2"}
    await get_channel_layer().group_send(consumers.RECOGNITION_GROUP, event)
    assert await receive(communicator) == {"type": "model", "label": "fernet v2"}
    assert active_model.current_model_dir() == new_model_dir
    assert await sync_to_async(active_model.current_model_label)() == "fernet-v2"
    assert active_model.switch_model(new_model_dir) is False  # already active: not loaded again

    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["type"] == "result"
    await communicator.disconnect(timeout=TIMEOUT)


async def test_without_a_model_the_connection_is_closed_with_a_reason(user, settings, tmp_path):
    settings.EMOTION_MODEL_DIR = tmp_path / "no-model-here"
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    error = await receive(communicator)
    assert error["type"] == "error" and "model" in error["error"]
    closed = await communicator.receive_output(timeout=TIMEOUT)
    assert closed == {"type": "websocket.close", "code": consumers.MODEL_UNAVAILABLE}
    assert await sync_to_async(CaptureSession.objects.count)() == 0


@pytest.fixture(scope="module")
def two_faces_jpegs() -> list[bytes]:
    """Twelve frames of two faces: the left one drifts right and down, the right one stays."""
    from bench.frames import encode_jpeg
    from tests.two_faces import two_faces_frame

    return [encode_jpeg(two_faces_frame(6 * index), quality=80) for index in range(12)]


def by_side(faces: list[dict]) -> dict[str, dict]:
    return {("left" if face["box"][0] < 320 else "right"): face for face in faces}


async def test_faces_keep_their_track_across_frames_shown_smoothed_and_stored_as_found(user, two_faces_jpegs):
    communicator, hello = await open_socket(user)
    shown = []
    for jpeg in two_faces_jpegs:
        await send_frame(communicator, jpeg)
        result = await receive(communicator)
        assert result["type"] == "result" and len(result["faces"]) == 2, result
        shown.append(by_side(result["faces"]))
    await communicator.disconnect(timeout=TIMEOUT)

    assert {(faces["left"]["track"], faces["right"]["track"]) for faces in shown} == {(1, 2)}
    for faces in shown:  # the label the page gets is the one of the smoothed probabilities
        for face in faces.values():
            assert face["emotion"] == max(face["scores"], key=face["scores"].get)
    stored = await sync_to_async(list)(Detection.objects.filter(session_id=hello["id"]).order_by("frame_index"))
    assert len(stored) == 2 * len(two_faces_jpegs)
    assert {(d.x < 320, d.track) for d in stored} == {(True, 1), (False, 2)}
    # Stored as found in each frame: the first frame has nothing to smooth with, the later ones do.
    first = {d.track: d for d in stored if d.frame_index == 0}
    assert first[1].box == shown[0]["left"]["box"] and first[1].scores == pytest.approx(shown[0]["left"]["scores"])
    last = {d.track: d for d in stored if d.frame_index == len(two_faces_jpegs) - 1}
    assert last[1].x > shown[-1]["left"]["box"][0]  # the drifting face: its smoothed box trails behind


async def test_a_resumed_session_numbers_new_faces_after_its_old_ones(user, two_faces_jpegs):
    first, hello = await open_socket(user)
    await send_frame(first, two_faces_jpegs[0])
    assert sorted(face["track"] for face in (await receive(first))["faces"]) == [1, 2]
    await first.disconnect(timeout=TIMEOUT)

    second, again = await open_socket_at(user, f"/ws/live/?resume={hello['id']}")
    assert again["resumed"] is True
    await send_frame(second, two_faces_jpegs[0])
    assert sorted(face["track"] for face in (await receive(second))["faces"]) == [3, 4]
    await second.disconnect(timeout=TIMEOUT)
    tracks = await sync_to_async(set)(Detection.objects.filter(session_id=hello["id"]).values_list("track", flat=True))
    assert tracks == {1, 2, 3, 4}

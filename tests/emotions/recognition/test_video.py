import threading

import cv2
import numpy as np
import pytest

from emotions.recognition.pipeline import FaceResult
from emotions.recognition.video import (
    TrackTimelines,
    VideoError,
    VideoFrame,
    _read_ahead,
    analyse_video,
    container_format,
    probe_video,
)
from tests.emotions.video_support import blank_video, face_frames, face_video, write_video

LIMIT = 4096 * 4096


@pytest.fixture
def face_mp4(tmp_path):
    return face_video(tmp_path / "face.mp4", 30)


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".avi"])
def test_probe_reads_size_rate_and_length(tmp_path, suffix):
    path = blank_video(tmp_path / f"clip{suffix}", 15, fps=15)
    info = probe_video(path, max_pixels=LIMIT)
    assert (info.width, info.height, info.fps, info.frame_count) == (320, 240, 15, 15)
    assert info.duration_seconds == pytest.approx(1.0)


def test_container_format_from_magic_bytes():
    assert container_format(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00") == "mp4"
    assert container_format(b"\x1a\x45\xdf\xa3" + b"\x00" * 12) == "matroska"
    assert container_format(b"RIFF\x00\x00\x00\x00AVI LIST") == "avi"
    assert container_format(b"\xff\xd8\xff\xe0" + b"\x00" * 12) is None


def test_probe_refuses_what_is_not_a_video(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe_video(empty, max_pixels=LIMIT)
    image = tmp_path / "photo.mp4"  # FFmpeg would open a JPEG as a one-frame video: refused first
    image.write_bytes(cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))[1].tobytes())
    text = tmp_path / "notes.webm"
    text.write_text("not a video at all " * 50)
    for path in (image, text):
        with pytest.raises(VideoError, match="not a video file"):
            probe_video(path, max_pixels=LIMIT)


def test_probe_refuses_a_truncated_mp4(tmp_path, face_mp4):
    data = face_mp4.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # OpenCV's writer puts the index (moov) at the end
    with pytest.raises(VideoError, match="truncated"):
        probe_video(cut, max_pixels=LIMIT)


def test_probe_refuses_an_mp4_without_video_stream(tmp_path, face_mp4):
    data = face_mp4.read_bytes()
    handler = data.find(b"hdlr")
    assert data[handler + 12 : handler + 16] == b"vide"
    sound = tmp_path / "sound.mp4"
    sound.write_bytes(data[: handler + 12] + b"soun" + data[handler + 16 :])
    with pytest.raises(VideoError, match="no video stream"):
        probe_video(sound, max_pixels=LIMIT)


def test_probe_refuses_a_video_without_frames(tmp_path):
    path = tmp_path / "none.mp4"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (320, 240)).release()
    with pytest.raises(VideoError, match="no frames"):
        probe_video(path, max_pixels=LIMIT)


def test_probe_refuses_too_many_pixels_and_too_long(tmp_path):
    path = blank_video(tmp_path / "clip.avi", 30, fps=10)
    with pytest.raises(VideoError, match="320x240 pixels; the limit is 76,799"):
        probe_video(path, max_pixels=320 * 240 - 1)
    with pytest.raises(VideoError, match="lasts 0:03; the limit is 0:02"):
        probe_video(path, max_pixels=LIMIT, max_seconds=2)
    assert probe_video(path, max_pixels=320 * 240, max_seconds=3).frame_count == 30


def test_analyse_video_finds_the_face_in_every_frame_as_one_track(pipeline, face_mp4):
    info = probe_video(face_mp4, max_pixels=LIMIT)
    frames = list(analyse_video(face_mp4, pipeline, info))
    assert [frame.index for frame in frames] == list(range(30))
    assert [frame.offset_ms for frame in frames[:3]] == [0, 33, 67]
    assert all(len(frame.faces) == 1 for frame in frames)
    assert {track for frame in frames for track, _ in frame.faces} == {1}
    x, _, w, _ = frames[0].faces[0][1].box
    assert 60 < w < 110 and abs(x + w / 2 - (20 + 222 * 420 / 512)) < 15


def test_analyse_video_every_nth_frame_and_max_seconds(pipeline, face_mp4):
    info = probe_video(face_mp4, max_pixels=LIMIT)
    assert [f.index for f in analyse_video(face_mp4, pipeline, info, every=7)] == [0, 7, 14, 21, 28]
    assert [f.index for f in analyse_video(face_mp4, pipeline, info, every=2, max_seconds=0.2)] == [0, 2, 4]


def test_analyse_video_finds_no_face_in_a_blank_video(pipeline, tmp_path):
    path = blank_video(tmp_path / "blank.webm", 12)
    frames = list(analyse_video(path, pipeline, probe_video(path, max_pixels=LIMIT)))
    assert len(frames) == 12 and all(frame.faces == [] for frame in frames)


def test_analyse_video_refuses_a_truncated_stream(pipeline, tmp_path):
    path = write_video(tmp_path / "face.webm", face_frames(40))
    data = path.read_bytes()
    cut = tmp_path / "cut.webm"
    cut.write_bytes(data[: len(data) // 2])  # WebM's header survives: the end is noticed at the end
    info = probe_video(cut, max_pixels=LIMIT)
    with pytest.raises(VideoError, match="truncated or corrupt: it ends after"):
        list(analyse_video(cut, pipeline, info))


def _face(emotion: str) -> FaceResult:
    scores = {name: 0.0 for name in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")}
    scores[emotion] = 1.0
    return FaceResult((0, 0, 10, 10), emotion, scores)


def test_track_timelines_average_each_second_per_face():
    timelines = TrackTimelines()
    timelines.add(VideoFrame(0, 0, [(0, _face("happy")), (1, _face("sad"))]))
    timelines.add(VideoFrame(1, 500, [(0, _face("sad"))]))
    timelines.add(VideoFrame(2, 1200, [(0, _face("happy"))]))
    result = timelines.to_dict()
    assert result["frames_analysed"] == 3
    first, second = result["tracks"]
    assert (first["track"], first["frames"], first["dominant"]) == (0, 3, "happy")
    assert [point["second"] for point in first["timeline"]] == [0.0, 1.0]
    assert first["timeline"][0]["scores"]["happy"] == 0.5 and first["timeline"][0]["frames"] == 2
    assert (second["track"], second["dominant"], second["first_second"]) == (1, "sad", 0.0)


def test_read_ahead_passes_errors_and_stops_its_thread_when_closed():
    def failing():
        yield 1
        raise VideoError("broken")

    items = _read_ahead(failing(), 2)
    assert next(items) == 1
    with pytest.raises(VideoError, match="broken"):
        next(items)

    produced = []

    def endless():
        index = 0
        while True:
            produced.append(index)
            yield index
            index += 1

    before = threading.active_count()
    items = _read_ahead(endless(), 3)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()
    assert threading.active_count() == before
    assert len(produced) <= 5 + 3 + 1  # never more than `size` ahead


def test_stopping_early_stops_the_decoding_thread(pipeline, face_mp4):
    before = threading.active_count()
    frames = analyse_video(face_mp4, pipeline, probe_video(face_mp4, max_pixels=LIMIT))
    assert next(frames).index == 0
    assert threading.active_count() == before + 1
    frames.close()
    assert threading.active_count() == before

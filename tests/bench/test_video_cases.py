import cv2
import pytest

from bench.video import VideoCase, case_frames, write_case


@pytest.mark.parametrize(("faces", "size", "heads"), [(1, (640, 480), False), (3, (640, 480), True),
                                                      (1, (1280, 720), True)])
def test_case_frames_show_the_faces_the_detector_finds(haar, faces, size, heads):
    case = VideoCase("t", size[0], size[1], seconds=2, faces=faces, fps=4, heads=heads)
    frames = list(case_frames(case))
    assert len(frames) == 8 and frames[0].shape == (size[1], size[0], 3)
    assert all(len(haar.detect(frame)) == faces for frame in frames)
    assert not (frames[0] == frames[3]).all()  # the faces move


def test_write_case_gives_a_readable_video(tmp_path):
    case = VideoCase("t", 320, 240, seconds=1, fps=10)
    codec = write_case(case, tmp_path / "t.mp4")
    assert codec in {"h264", "mp4v"}
    capture = cv2.VideoCapture(str(tmp_path / "t.mp4"))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 10 and capture.get(cv2.CAP_PROP_FRAME_WIDTH) == 320
    if codec == "h264":
        assert int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little") in (b"avc1", b"h264", b"H264")

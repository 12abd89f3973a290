import json
from io import StringIO

import cv2
import pytest
from django.core.management import CommandError, call_command

from bench.frames import astronaut_bgr, encode_jpeg, place_in_frame
from emotions import active_model


@pytest.fixture
def model_settings(settings, tiny_model_dir):
    settings.EMOTION_MODEL_DIR = tiny_model_dir
    settings.FACE_DETECTOR = "haar"
    yield settings
    active_model.reset_pipeline()


@pytest.fixture
def images(tmp_path):
    photo = astronaut_bgr()
    face = tmp_path / "face.jpg"
    face.write_bytes(encode_jpeg(place_in_frame(photo, 110, 30)))
    png = tmp_path / "photo.png"
    cv2.imwrite(str(png), photo)
    blank = tmp_path / "blank.jpg"
    blank.write_bytes(encode_jpeg(place_in_frame(photo, 0, 0, side=1)))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a picture")
    return {"face": face, "png": png, "blank": blank, "broken": broken, "missing": tmp_path / "missing.jpg"}


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("predict", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_output_parses_and_reports_unreadable_files(model_settings, images):
    paths = [images["face"], images["missing"], images["broken"], images["png"], images["blank"]]
    out, _ = run(*paths, "--json")
    document = json.loads(out)  # stdout holds only the JSON document
    assert [entry["image"] for entry in document] == [str(path) for path in paths]
    face, missing, broken, png, blank = document
    assert len(face["faces"]) == 1
    (found,) = face["faces"]
    assert set(found) == {"box", "emotion", "scores"}
    assert len(found["box"]) == 4 and all(isinstance(v, int) for v in found["box"])
    assert found["emotion"] == max(found["scores"], key=found["scores"].get)
    assert abs(sum(found["scores"].values()) - 1) < 1e-4
    assert "cannot read" in missing["error"] and "faces" not in missing
    assert broken["error"] == "not a JPEG or PNG image"
    assert len(png["faces"]) == 1
    assert blank["faces"] == []


def test_text_output_is_readable(model_settings, images):
    out, err = run(images["face"], images["broken"])
    assert f"{images['face']}: 1 face" in out
    assert "face 1 at x=" in out and "happy" in out
    assert f"{images['broken']}: error: not a JPEG or PNG image" in err


def test_model_option_selects_the_artifact_directory(settings, tiny_model_dir, images, tmp_path):
    settings.EMOTION_MODEL_DIR = tmp_path / "nothing-here"
    out, _ = run(images["face"], "--json", "--model", tiny_model_dir)
    assert len(json.loads(out)[0]["faces"]) == 1


def test_missing_model_is_a_command_error(settings, images, tmp_path):
    with pytest.raises(CommandError, match="emotion model not found"):
        run(images["face"], "--model", tmp_path)

import numpy as np
import pytest
from django.urls import reverse

from emotions.galleries import build_galleries
from training.core.labels import EMOTIONS


def test_home_lists_the_seven_emotions_with_gallery_links(client):
    html = client.get(reverse("home")).content.decode()
    for emotion in EMOTIONS:
        assert reverse("gallery", args=[emotion]) in html
        assert emotion.capitalize() in html


@pytest.fixture
def galleries(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(EMOTIONS)), 30)
    pixels = rng.integers(0, 256, size=(len(labels), 48, 48), dtype=np.uint8)
    return build_galleries(pixels, labels, tmp_path, per_emotion=24)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_each_gallery_renders_its_images(client, galleries, emotion, settings):
    assert galleries[emotion] == 24
    response = client.get(reverse("gallery", args=[emotion]))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count(f'src="/media/galleries/{emotion}/') == 24
    image = client.get(f"/media/galleries/{emotion}/00.png")
    assert image.status_code == 200
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")


def test_gallery_without_images_says_how_to_build_them(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    html = client.get(reverse("gallery", args=["fear"])).content.decode()
    assert "build_galleries" in html
    assert "FER-2013" in html


def test_unknown_emotion_is_404(client):
    assert client.get("/emotions/bored/").status_code == 404


def test_build_galleries_command_reads_a_data_set(tmp_path, settings):
    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path / "media"
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(len(EMOTIONS)), 3).astype(np.uint8)
    np.savez(tmp_path / "mini.npz", pixels=rng.integers(0, 256, (len(labels), 48, 48), dtype=np.uint8),
             emotion=labels, usage=np.zeros(len(labels), np.uint8))
    call_command("build_galleries", "--data", str(tmp_path / "mini.npz"))
    for emotion in EMOTIONS:
        assert len(list((tmp_path / "media" / "galleries" / emotion).glob("*.png"))) == 3

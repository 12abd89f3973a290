"""The model page and the live page's note: the figures of the model in use, read from its metrics files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from emotions.active_model import LIVE_MODEL_FILE
from emotions.model_card import LIVE_METRICS_FILE, METRICS_FILE, model_card
from training.core.labels import EMOTIONS

pytestmark = pytest.mark.django_db

# Made-up figures, unlike the shipped model's, so that the page can only have read them from here.
F1 = {"angry": 0.61, "disgust": 0.52, "fear": 0.33, "happy": 0.91, "sad": 0.44, "surprise": 0.8, "neutral": 0.66}


def metrics(accuracy: float, *, n: int = 1234) -> dict:
    return {
        "accuracy": accuracy, "n": n, "split": "HoldoutTest", "data": "/somewhere/faces.npz", "macro_f1": 0.6123,
        "per_class": {emotion: {"precision": f1 + 0.01, "recall": f1 - 0.01, "f1": f1, "support": 100 + i}
                      for i, (emotion, f1) in enumerate(F1.items())},
        "training": {"architecture": "fernet_test"},
    }


@pytest.fixture
def model_dir(tmp_path: Path, settings) -> Path:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / METRICS_FILE).write_text(json.dumps(metrics(0.6417)))
    (folder / LIVE_METRICS_FILE).write_text(json.dumps(metrics(0.6322)))
    (folder / LIVE_MODEL_FILE).write_bytes(b"a live variant")
    (folder / "config.json").write_text(json.dumps({"live_variant": {"file": LIVE_MODEL_FILE}}))
    settings.EMOTION_MODEL_DIR = folder  # the model in use (emotions.active_model.current_model_dir)
    return folder


def test_model_card_reads_the_metrics_of_the_model_in_use(model_dir):
    card = model_card()
    assert card.model_dir == model_dir and card.architecture == "fernet_test"
    assert card.full.accuracy_percent == 64.2 and card.full.n == 1234 and card.full.split == "HoldoutTest"
    assert card.full.data == "faces.npz" and card.live.accuracy_percent == 63.2
    assert [row.emotion for row in card.full.per_class] == list(EMOTIONS)
    assert card.full.weak_classes == ["fear", "sad"]  # the two lowest F1


def test_model_card_without_metrics_has_no_figures(tmp_path):
    (tmp_path / LIVE_METRICS_FILE).write_text("not json")
    card = model_card(tmp_path)
    assert card.full is None and card.live is None


def test_model_page_shows_the_figures_of_metrics_json(client, model_dir):
    response = client.get(reverse("model"))  # public, like the privacy page
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="model-accuracy">64\.2 % \(792 of 1234 faces, HoldoutTest split of faces\.npz\)', html)
    assert 'id="model-macro-f1">0.612<' in html
    assert 'id="model-live-accuracy">63.2 %' in html
    assert "my-model" in html and "fernet_test" in html
    row = re.search(r'<tr data-emotion="fear">(.*?)</tr>', html).group(1)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["0.340", "0.320", "0.330", "102"]
    assert "facial expressions, not feelings" in html and "<strong>fear and sad</strong>" in html


def test_model_page_without_metrics_says_so(client, settings, tmp_path):
    settings.EMOTION_MODEL_DIR = tmp_path
    html = client.get(reverse("model")).content.decode()
    assert "No evaluation figures were found" in html and "per-class" not in html


def test_live_page_note_uses_the_same_figures_and_links_the_model_page(user_client, model_dir):
    html = user_client.get(reverse("live")).content.decode()
    note = html[html.index("What the model can and cannot tell you"):]
    assert "<strong>64.2 %</strong>" in note and "<strong>63.2 %</strong>" in note and "fear and sad" in note
    assert f'href="{reverse("model")}"' in note


def test_footer_links_to_the_model_page(client):
    assert f'href="{reverse("model")}"' in client.get(reverse("home")).content.decode()


def test_shipped_model_figures_are_the_model_cards(settings):
    """The shipped directory's own files give the headline figures of models/README.md."""
    card = model_card(Path(settings.BASE_DIR) / "models" / "shipped")
    assert (card.full.accuracy_percent, card.live.accuracy_percent) == (70.3, 69.8)
    assert card.full.weak_classes == ["fear", "sad"]


def test_live_figures_left_over_from_another_model_are_not_shown(model_dir):
    (model_dir / "config.json").write_text("{}")  # a new model copied over the directory: no live variant named
    assert model_card(model_dir).live is None


@pytest.mark.parametrize("accuracy", ["NaN", "Infinity", "1.5"])
def test_figures_that_are_not_an_accuracy_are_not_shown(tmp_path, accuracy):
    (tmp_path / METRICS_FILE).write_text(f'{{"accuracy": {accuracy}, "n": 10}}')
    assert model_card(tmp_path).full is None


def test_model_page_says_how_well_the_scores_are_calibrated(client, model_dir):
    figures = {**metrics(0.6417), "calibration": {"temperature": 0.8791, "ece_before": 0.0367, "ece_after": 0.0304,
                                                  "fitted_split": "ValidationFold"}}
    (model_dir / METRICS_FILE).write_text(json.dumps(figures))
    assert model_card().full.calibration.error_after_points == 3.0
    html = client.get(reverse("model")).content.decode()
    calibration = re.search(r'id="model-calibration">([^<]*)<', html).group(1)
    assert "temperature 0.88" in calibration and "3.0 points" in calibration and "3.7 uncalibrated" in calibration
    assert "fitted on ValidationFold" in calibration  # the split the fit recorded, not an assumed one


def test_model_page_without_calibration_figures_says_nothing_of_them(client, model_dir):
    assert model_card().full.calibration is None
    assert 'id="model-calibration"' not in client.get(reverse("model")).content.decode()

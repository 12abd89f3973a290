"""The admin's versions list and pages as an admin reads them: where each figure comes from and
whether it compares, asking before activating a worse model, tables instead of JSON, no Save on
read-only pages, the form help, the branding."""

import html

import pytest
from django.urls import reverse

from tests.factories import ModelVersionFactory, TrainingJobFactory
from tests.html_forms import submitted_form
from training.models import ModelVersion
from training.services import registry

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:training_modelversion_changelist"


def scoring(accuracy: float, n: int, split: str = "PrivateTest", **fields) -> ModelVersion:
    """A version whose metrics say `accuracy` on `n` faces of `split`."""
    version = ModelVersionFactory(split=split, **fields)
    version.metrics.update(accuracy=accuracy, n=n, split=split)
    version.save(update_fields=["metrics"])
    return version


def page(client, url: str, *args) -> str:
    return html.unescape(client.get(reverse(url, args=args)).content.decode())


def test_the_list_shows_split_and_n_and_warns_when_figures_do_not_compare(staff_client, tiny_model_dir):
    active = scoring(0.705, 3589, name="fernet-full", artifact_dir=str(tiny_model_dir))
    registry.activate_model_version(active)
    scoring(0.18, 100, name="smoke-run")
    scoring(0.65, 3589, name="fernet-short")
    listing = page(staff_client, CHANGELIST)
    assert "PrivateTest, n=3,589" in listing and "PrivateTest, n=100" in listing
    assert 'id="comparability-warning"' in listing and "2 different splits or sizes" in listing
    assert "like the active version" in listing
    rows = {row.split("</th>")[0]: row for row in listing.split('<tr')[1:]}
    smoke = next(row for name, row in rows.items() if "smoke-run" in name)
    short = next(row for name, row in rows.items() if "fernet-short" in name)
    assert "not comparable" in smoke and "not comparable" not in short


def test_no_warning_when_every_version_was_measured_alike(staff_client):
    scoring(0.6, 3589)
    scoring(0.7, 3589)
    listing = page(staff_client, CHANGELIST)
    assert "PrivateTest, n=3,589" in listing
    assert "comparability-warning" not in listing and "not comparable</span>" not in listing


def test_the_active_column_comes_right_after_the_name(staff_client):
    scoring(0.6, 10)
    listing = page(staff_client, CHANGELIST)
    headers = listing.split("<thead>")[1].split("</thead>")[0]
    assert headers.index("column-name") < headers.index("column-is_active") < headers.index("column-accuracy")


@pytest.fixture
def active_and_worse(tiny_model_dir):
    active = scoring(0.705, 3589, name="good", artifact_dir=str(tiny_model_dir))
    registry.activate_model_version(active)
    return active, scoring(0.65, 3589, name="worse", artifact_dir=str(tiny_model_dir))


def test_the_activate_button_asks_first_for_a_worse_model(staff_client, active_and_worse):
    active, worse = active_and_worse
    response = staff_client.post(reverse("admin:training_modelversion_activate", args=[worse.pk]))
    confirmation = html.unescape(response.content.decode())
    assert response.status_code == 200 and "scores below the active version good" in confirmation
    assert "0.7050" in confirmation and "0.6500" in confirmation and "PrivateTest, n=3,589" in confirmation
    assert ModelVersion.objects.get(is_active=True) == active

    form = submitted_form(confirmation, "Yes, activate worse")
    assert form is not None and form.action == reverse("admin:training_modelversion_activate", args=[worse.pk])
    response = staff_client.post(form.action, form.fields)
    assert response.status_code == 302
    assert ModelVersion.objects.get(is_active=True) == worse


def test_the_list_action_asks_first_for_a_worse_model(staff_client, active_and_worse):
    active, worse = active_and_worse
    response = staff_client.post(reverse(CHANGELIST), {"action": "activate_selected", "_selected_action": [worse.pk]})
    assert response.status_code == 200 and "scores below the active version" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True) == active
    staff_client.post(reverse("admin:training_modelversion_activate", args=[worse.pk]), {"confirmed": "yes"})
    assert ModelVersion.objects.get(is_active=True) == worse


@pytest.mark.parametrize(("accuracy", "n"), [(0.8, 3589), (0.18, 100)], ids=["better", "not comparable"])
def test_a_better_or_incomparable_model_activates_at_once(staff_client, tiny_model_dir, accuracy, n):
    registry.activate_model_version(scoring(0.705, 3589, artifact_dir=str(tiny_model_dir)))
    other = scoring(accuracy, n, artifact_dir=str(tiny_model_dir))
    response = staff_client.post(reverse(CHANGELIST), {"action": "activate_selected", "_selected_action": [other.pk]})
    assert response.status_code == 302
    assert ModelVersion.objects.get(is_active=True) == other
    response = staff_client.post(reverse("admin:training_modelversion_activate", args=[other.pk]))
    assert response.status_code == 302


def test_the_version_page_shows_tables_no_json_wall_and_no_save(staff_client):
    version = ModelVersionFactory(training_config={"architecture": "fernet", "epochs": 60, "seed": 7,
                                                   "members": [{"architecture": "fernet"}]})
    text = page(staff_client, "admin:training_modelversion_change", version.pk)
    config = text.split('id="configuration"')[1]
    assert '<th scope="row">epochs</th><td>60</td>' in config
    assert '<th scope="row">members</th><td>[{"architecture": "fernet"}]</td>' in config
    assert "<details" in config and "Raw training configuration (JSON)" in config
    metrics = text.split('id="metrics"')[1]
    for row in ("accuracy</th><td>0.5000", "macro F1</th><td>0.4000", "split</th><td>PrivateTest",
                "n (faces measured)</th><td>2"):
        assert row in metrics
    assert "<th>precision</th>" in metrics and "Raw metrics (JSON)" in metrics
    per_class = metrics.split("Per class")[1].split("Confusion matrix")[0]
    rows = [per_class.index(f"<td>{label}</td>") for label in version.metrics["labels"]]
    assert rows == sorted(rows)  # in the labels' order, not the JSON column's key order
    assert 'name="_save"' not in text and 'name="_continue"' not in text
    assert reverse("admin:training_modelversion_delete", args=[version.pk]) in text


def test_a_job_page_shows_its_parameters_as_a_table_and_no_save(staff_client):
    job = TrainingJobFactory(state="SUCCEEDED", parameters={"data": "/data/fer.npz", "epochs": 1})
    text = page(staff_client, "admin:training_trainingjob_change", job.pk)
    assert '<th scope="row">epochs</th><td>1</td>' in text.split('id="configuration"')[1]
    assert 'name="_save"' not in text


def test_an_evaluate_jobs_name_is_not_called_the_new_versions_name(staff_client):
    job = TrainingJobFactory(kind="evaluate")
    text = page(staff_client, "admin:training_trainingjob_change", job.pk)
    assert "names the job and its output folder" in text
    assert "also the artifact folder and the new version's name" not in text


def test_the_forms_help_speaks_to_an_admin_not_a_developer(staff_client, data_root):
    version = ModelVersionFactory()
    for text in (page(staff_client, "admin:training_modelversion_retrain"),
                 page(staff_client, "admin:training_modelversion_evaluate", version.pk)):
        help_texts = " ".join(part.split("</div>")[0] for part in text.split('<div class="help">')[1:])
        assert "settings" not in help_texts and "TRAINING_DATA_ROOTS" not in help_texts
        assert "folders of face images sorted into one folder per emotion" in help_texts
        assert "faces.npz (in " in text  # a data set by its name and folder


def test_the_admin_is_branded_moodlens(staff_client):
    text = page(staff_client, "admin:index")
    assert "Moodlens administration" in text and "Django administration" not in text
    assert "<title>Moodlens site administration | Moodlens admin</title>" in text

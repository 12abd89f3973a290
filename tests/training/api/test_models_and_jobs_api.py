"""/api/models/ (read: users; activate: staff) and /api/jobs/ (staff): shapes, filters, validation."""

import pytest
from django.urls import reverse

from tests.factories import ModelVersionFactory, TrainingJobFactory
from training.models import ModelVersion, TrainingJob

pytestmark = pytest.mark.django_db


def test_model_list_and_detail(alice_api, tiny_model_dir):
    ModelVersion.objects.update(is_active=False)
    version = ModelVersionFactory(name="fer-a", artifact_dir=str(tiny_model_dir), is_active=True,
                                  training_config={"architecture": "tiny", "data": "/secret/path.npz", "epochs": 3})
    ModelVersionFactory(name="fer-b", architecture="fernet")
    body = alice_api.get(reverse("api-model-list"), {"architecture": "tiny"}).json()
    assert [row["name"] for row in body["results"]] == ["fer-a"]
    detail = alice_api.get(reverse("api-model-detail", args=[version.pk])).json()
    assert detail["is_active"] and detail["accuracy"] == 0.5 and detail["per_class_f1"]["happy"] == 0.5
    assert len(detail["confusion_matrix"]) == 7 and detail["labels"][3] == "happy"
    assert detail["training"] == {"architecture": "tiny", "epochs": 3}  # no server paths
    assert detail["dataset"] == "tiny.npz"
    assert [r["name"] for r in alice_api.get(reverse("api-model-list"), {"is_active": "true"}).json()["results"]] \
        == ["fer-a"]


def test_an_ensembles_configuration_shows_no_server_paths_of_its_members(alice_api):
    config = {"architecture": "ensemble", "flip": True, "weights": [0.8, 0.2], "int8": True,
              "int8_calibration": "500 Training faces of /srv/data/fer2013.npz drawn with seed 1",
              "members": [{"dir": "/srv/runs/a", "architecture": "fernet_deep", "seed": 2,
                           "commands": ["manage.py train --data /srv/data/fer2013.npz"]}],
              "command": "manage.py ensemble /srv/runs/a", "soft_labels": "/srv/data/fer2013new.csv",
              "soft_label_weight": 0.3}
    version = ModelVersionFactory(architecture="ensemble", training_config=config)
    training = alice_api.get(reverse("api-model-detail", args=[version.pk])).json()["training"]
    assert training == {"architecture": "ensemble", "flip": True, "weights": [0.8, 0.2], "int8": True,
                        "soft_label_weight": 0.3, "members": [{"architecture": "fernet_deep", "seed": 2}]}


def test_staff_activates_a_version(staff_api, tiny_model_dir):
    old = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    ModelVersion.objects.exclude(pk=old.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=old.pk).update(is_active=True)
    new = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    response = staff_api.post(reverse("api-model-activate", args=[new.pk]))
    assert response.status_code == 200 and response.json()["is_active"]
    assert list(ModelVersion.objects.filter(is_active=True)) == [new]


def test_a_version_without_model_file_cannot_be_activated(staff_api):
    version = ModelVersionFactory(artifact_dir="/nonexistent/dir")
    response = staff_api.post(reverse("api-model-activate", args=[version.pk]))
    assert response.status_code == 400 and "no model.tflite" in str(response.json())
    assert not ModelVersion.objects.get(pk=version.pk).is_active


def test_staff_creates_a_retrain_job(staff_api, staff, data_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_api.post(reverse("api-job-list"), {
            "kind": "retrain", "architecture": "tiny", "epochs": 2, "dataset": str(data_root / "faces.npz"),
            "name": "tiny-try", "options": {"batch_size": 16, "limit": 50},
        }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "QUEUED" and body["name"] == "tiny-try" and body["created_by"] == staff.username
    assert body["parameters"] == {"architecture": "tiny", "epochs": 2, "data": str((data_root / "faces.npz").resolve()),
                                  "batch_size": 16, "limit": 50}
    assert len(callbacks) == 1  # sent to the workers on commit


def test_staff_creates_a_job_that_fine_tunes_a_version(staff_api, data_root, settings, tmp_path,
                                                        django_capture_on_commit_callbacks):
    settings.FERPLUS_VOTES_PATH = tmp_path / "fer2013new.csv"
    settings.FERPLUS_VOTES_PATH.write_text("neutral,happiness,surprise,sadness,anger,disgust,fear\n")
    version = ModelVersionFactory(architecture="fernet")
    with django_capture_on_commit_callbacks():
        response = staff_api.post(reverse("api-job-list"), {
            "kind": "retrain", "source_version": version.pk, "epochs": 3, "dataset": str(data_root / "faces.npz"),
            "options": {"schedule": "constant", "learning_rate": 2e-4, "swa_start": 0, "soft_label_weight": 0.2},
        }, format="json")
    assert response.status_code == 201, response.content
    job = TrainingJob.objects.get(pk=response.json()["id"])
    assert job.kind == "retrain" and job.source_version == version
    assert job.parameters["architecture"] == "fernet" and job.parameters["init_from"] == version.artifact_dir
    assert (job.parameters["swa_start"], job.parameters["schedule"]) == (0, "constant")
    assert job.parameters["soft_label_weight"] == 0.2
    assert job.parameters["soft_labels"] == str(settings.FERPLUS_VOTES_PATH)

    response = staff_api.post(reverse("api-job-list"), {
        "kind": "retrain", "source_version": version.pk, "architecture": "tiny", "epochs": 3,
        "dataset": str(data_root / "faces.npz")}, format="json")
    assert response.status_code == 400 and "leave it out" in str(response.json())


def test_staff_creates_an_evaluate_job(staff_api, data_root, tiny_model_dir):
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    response = staff_api.post(reverse("api-job-list"), {
        "kind": "evaluate", "source_version": version.pk, "dataset": str(data_root / "faces.npz"), "split": "Training",
    }, format="json")
    assert response.status_code == 201, response.content
    job = TrainingJob.objects.get(pk=response.json()["id"])
    assert job.kind == "evaluate" and job.source_version == version and job.parameters["split"] == "Training"


@pytest.mark.parametrize(("body", "problem"), [
    ({"kind": "retrain", "dataset": "x"}, "required for a retrain job"),
    ({"kind": "retrain", "architecture": "tiny", "epochs": 1, "dataset": "/etc/passwd"}, "not one of the data sets"),
    ({"kind": "retrain", "architecture": "resnet", "epochs": 1, "dataset": "x"}, "is not a valid choice"),
    ({"kind": "retrain", "architecture": "tiny", "epochs": 0, "dataset": "x"}, "greater than or equal to 1"),
    ({"kind": "evaluate", "dataset": "x"}, "required for a evaluate job"),
    ({"kind": "bake", "dataset": "x"}, "is not a valid choice"),
])
def test_invalid_job_requests(staff_api, data_root, body, problem):
    response = staff_api.post(reverse("api-job-list"), body, format="json")
    assert response.status_code == 400
    assert problem in str(response.json())
    assert not TrainingJob.objects.exists()


def test_job_detail_list_filter_cancel_and_datasets(staff_api, data_root):
    running = TrainingJobFactory(state="RUNNING", progress=40, current_epoch=2, total_epochs=5)
    TrainingJobFactory(state="SUCCEEDED", progress=100)
    body = staff_api.get(reverse("api-job-list"), {"state": "RUNNING"}).json()
    assert [row["id"] for row in body["results"]] == [running.pk]
    detail = staff_api.get(reverse("api-job-detail", args=[running.pk])).json()
    assert detail["progress"] == 40 and detail["current_epoch"] == 2 and detail["total_epochs"] == 5
    response = staff_api.post(reverse("api-job-cancel", args=[running.pk]))
    assert response.status_code == 200 and response.json()["cancel_requested"]
    finished = TrainingJob.objects.get(state="SUCCEEDED")
    assert staff_api.post(reverse("api-job-cancel", args=[finished.pk])).status_code == 400
    datasets = staff_api.get(reverse("api-job-datasets")).json()
    assert datasets == [{"path": str((data_root / "faces.npz").resolve()), "name": "faces.npz"}]


def test_activating_a_lower_scoring_version_asks_for_confirmation(staff_api, tiny_model_dir):
    """As the admin does: a version below the active one on the same split and faces is refused
    (409, naming both) until the call says it means it."""
    active = ModelVersionFactory(artifact_dir=str(tiny_model_dir), metrics={"accuracy": 0.7, "n": 3589})
    ModelVersion.objects.exclude(pk=active.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=active.pk).update(is_active=True)
    worse = ModelVersionFactory(artifact_dir=str(tiny_model_dir), name="worse", metrics={"accuracy": 0.6, "n": 3589})
    response = staff_api.post(reverse("api-model-activate", args=[worse.pk]))
    assert response.status_code == 409
    assert response.json()["active"] == active.pk and "worse scores 60.00%" in response.json()["detail"]
    assert list(ModelVersion.objects.filter(is_active=True)) == [active]

    response = staff_api.post(reverse("api-model-activate", args=[worse.pk]) + "?confirm_downgrade=true")
    assert response.status_code == 200
    assert list(ModelVersion.objects.filter(is_active=True)) == [worse]


def test_a_version_scored_on_other_faces_is_not_called_a_downgrade(staff_api, tiny_model_dir):
    active = ModelVersionFactory(artifact_dir=str(tiny_model_dir), metrics={"accuracy": 0.7, "n": 3589})
    ModelVersion.objects.exclude(pk=active.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=active.pk).update(is_active=True)
    other = ModelVersionFactory(artifact_dir=str(tiny_model_dir), metrics={"accuracy": 0.2, "n": 100})
    assert staff_api.post(reverse("api-model-activate", args=[other.pk])).status_code == 200

"""The admin: Retrain and Evaluate forms, Activate, the job page (progress, matrix, plots) and Cancel."""

import pytest
from django.urls import reverse

from tests.factories import ModelVersionFactory, TrainingJobFactory, UserFactory, grant
from tests.html_forms import submitted_form
from training.models import ModelVersion, TrainingJob
from training.permissions import ACTIVATE_MODEL_VERSION, VIEW_JOBS

pytestmark = pytest.mark.django_db





def test_version_list_offers_retrain(staff_client):
    page = staff_client.get(reverse("admin:training_modelversion_changelist")).content.decode()
    assert reverse("admin:training_modelversion_retrain") in page


def test_retrain_form_lists_the_data_sets_and_queues_a_job(staff_client, staff, data_root,
                                                           django_capture_on_commit_callbacks):
    url = reverse("admin:training_modelversion_retrain")
    page = staff_client.get(url).content.decode()
    dataset = str((data_root / "faces.npz").resolve())
    assert dataset in page and "tiny" in page and "fernet" in page
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(url, {"architecture": "tiny", "epochs": 2, "dataset": dataset, "name": "",
                                           "batch_size": 32, "limit": "", "schedule": "cosine"})
    job = TrainingJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:training_trainingjob_change", args=[job.pk])
    assert job.kind == "retrain" and job.created_by == staff and job.total_epochs == 2
    assert job.parameters["batch_size"] == 32 and "limit" not in job.parameters
    assert job.parameters["schedule"] == "cosine"
    assert len(callbacks) == 1


def test_retrain_form_queues_fine_tuning_of_a_version(staff_client, data_root, settings, tmp_path,
                                                     django_capture_on_commit_callbacks):
    settings.FERPLUS_VOTES_PATH = tmp_path / "fer2013new.csv"
    settings.FERPLUS_VOTES_PATH.write_text("neutral,happiness,surprise,sadness,anger,disgust,fear\n")
    version = ModelVersionFactory(architecture="ensemble", training_config={
        "architecture": "ensemble", "members": [{"architecture": "fernet_deep"}, {"architecture": "fernet"}]})
    url = reverse("admin:training_modelversion_retrain")
    assert version.name in staff_client.get(url).content.decode()
    with django_capture_on_commit_callbacks():
        response = staff_client.post(url, {
            "architecture": "tiny", "epochs": 5, "dataset": str((data_root / "faces.npz").resolve()), "name": "",
            "batch_size": 64, "schedule": "constant", "learning_rate": "0.0002", "start_from": version.pk,
            "start_member": 2, "swa_start": 1, "soft_label_weight": "0.3"})
    assert response.status_code == 302
    parameters = TrainingJob.objects.get().parameters
    assert parameters["architecture"] == "fernet" and parameters["init_member"] == 2
    assert parameters["start_version"] == version.name and parameters["init_from"] == version.artifact_dir
    assert (parameters["learning_rate"], parameters["swa_start"], parameters["schedule"]) == (2e-4, 1, "constant")
    assert parameters["soft_label_weight"] == 0.3 and parameters["soft_labels"] == str(settings.FERPLUS_VOTES_PATH)


def test_retrain_form_says_when_no_data_set_is_found(staff_client, settings, tmp_path):
    settings.TRAINING_DATA_ROOTS = [tmp_path / "nothing-here"]
    page = staff_client.get(reverse("admin:training_modelversion_retrain")).content.decode()
    assert "No data set was found" in page


def test_retrain_form_shows_service_errors(staff_client, data_root):
    TrainingJobFactory(name="taken")
    response = staff_client.post(reverse("admin:training_modelversion_retrain"), {
        "architecture": "tiny", "epochs": 1, "dataset": str((data_root / "faces.npz").resolve()), "name": "taken",
        "batch_size": 64, "schedule": "plateau"})
    assert response.status_code == 200 and "is taken" in response.content.decode()
    assert TrainingJob.objects.count() == 1


def test_evaluate_action_and_form(staff_client, data_root, tiny_model_dir):
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    response = staff_client.post(reverse("admin:training_modelversion_changelist"),
                                 {"action": "evaluate_selected", "_selected_action": [version.pk]})
    assert response["Location"] == reverse("admin:training_modelversion_evaluate", args=[version.pk])
    response = staff_client.post(response["Location"], {"dataset": str((data_root / "faces.npz").resolve()),
                                                        "split": "PrivateTest"})
    job = TrainingJob.objects.get()
    assert response.status_code == 302 and job.kind == "evaluate" and job.source_version == version


def test_activate_from_the_version_page_and_the_action(staff_client, tiny_model_dir):
    first = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    second = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    page = staff_client.get(reverse("admin:training_modelversion_change", args=[first.pk])).content.decode()
    assert "Activate this version" in page and "Confusion matrix" in page
    url = reverse("admin:training_modelversion_activate", args=[first.pk])
    assert staff_client.get(url).status_code == 405
    assert staff_client.post(url).status_code == 302
    assert ModelVersion.objects.get(is_active=True) == first
    staff_client.post(reverse("admin:training_modelversion_changelist"),
                      {"action": "activate_selected", "_selected_action": [second.pk]})
    assert ModelVersion.objects.get(is_active=True) == second
    response = staff_client.post(reverse("admin:training_modelversion_changelist"),
                                 {"action": "activate_selected", "_selected_action": [first.pk, second.pk]},
                                 follow=True)
    assert "Select exactly one version" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True) == second


def test_the_activate_button_on_the_version_page_submits_the_activate_form(staff_client, tiny_model_dir):
    """The button must not sit in a form nested in the change form (browsers drop the inner form)."""
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    page = staff_client.get(reverse("admin:training_modelversion_change", args=[version.pk])).content.decode()
    form = submitted_form(page, "Activate this version")
    assert form is not None and form.method == "post"
    assert form.action == reverse("admin:training_modelversion_activate", args=[version.pk])
    assert "csrfmiddlewaretoken" in form.fields
    response = staff_client.post(form.action, form.fields, follow=True)
    assert response.status_code == 200
    assert ModelVersion.objects.get(is_active=True) == version


def test_the_cancel_button_on_the_job_page_submits_the_cancel_form(staff_client):
    job = TrainingJobFactory(state="RUNNING")
    page = staff_client.get(reverse("admin:training_trainingjob_change", args=[job.pk])).content.decode()
    form = submitted_form(page, "Cancel this job")
    assert form is not None and form.method == "post"
    assert form.action == reverse("admin:training_trainingjob_cancel", args=[job.pk])
    staff_client.post(form.action, form.fields)
    job.refresh_from_db()
    assert job.cancel_requested


def test_the_active_version_cannot_be_deleted(staff_client, tiny_model_dir):
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    ModelVersion.objects.update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    assert staff_client.get(reverse("admin:training_modelversion_delete", args=[version.pk])).status_code == 403


def test_running_job_page_refreshes_and_offers_cancel(staff_client):
    job = TrainingJobFactory(state="RUNNING", progress=40, current_epoch=2, total_epochs=5, log_tail="epoch 2/5")
    page = staff_client.get(reverse("admin:training_trainingjob_change", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in page and 'value="40"' in page and "epoch 2 of 5" in page
    assert "Cancel this job" in page and "epoch 2/5" in page
    response = staff_client.post(reverse("admin:training_trainingjob_cancel", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.cancel_requested
    page = staff_client.get(reverse("admin:training_trainingjob_change", args=[job.pk])).content.decode()
    assert "Cancel requested" in page


def test_finished_job_page_shows_matrix_and_plots(staff_client, client, user, tmp_path):
    (tmp_path / "metrics_confusion.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    version = ModelVersionFactory()
    job = TrainingJobFactory(kind="evaluate", state="SUCCEEDED", progress=100, output_dir=str(tmp_path),
                             metrics=version.metrics, source_version=version)
    page = staff_client.get(reverse("admin:training_trainingjob_change", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page and "Cancel this job" not in page
    assert "Confusion matrix" in page and "true \\ predicted" in page
    image = reverse("admin:training_trainingjob_image", args=[job.pk, "metrics_confusion.png"])
    assert image in page
    response = staff_client.get(image)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert staff_client.get(reverse("admin:training_trainingjob_image", args=[job.pk, "secrets.txt"])).status_code \
        == 404
    client.force_login(user)  # not staff: sent to the admin log-in
    assert client.get(image).status_code == 302


def test_cancel_action(staff_client):
    queued = TrainingJobFactory()
    done = TrainingJobFactory(state="FAILED")
    response = staff_client.post(reverse("admin:training_trainingjob_changelist"),
                                 {"action": "cancel_selected", "_selected_action": [queued.pk, done.pk]}, follow=True)
    assert "nothing to cancel" in response.content.decode()
    assert TrainingJob.objects.get(pk=queued.pk).state == "CANCELLED"


def test_jobs_are_not_added_or_edited_by_hand(staff_client):
    job = TrainingJobFactory()
    assert staff_client.get(reverse("admin:training_trainingjob_add")).status_code == 403
    response = staff_client.post(reverse("admin:training_trainingjob_change", args=[job.pk]), {"state": "SUCCEEDED"})
    assert response.status_code == 403
    assert TrainingJob.objects.get(pk=job.pk).state == "QUEUED"


def test_non_staff_cannot_retrain(user_client):
    response = user_client.get(reverse("admin:training_modelversion_retrain"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.fixture
def viewer_client(client):
    """A staff user who may see versions and jobs, and nothing more."""
    viewer = grant(UserFactory(username="viewer", is_staff=True), "training.view_modelversion", VIEW_JOBS)
    client.force_login(viewer)
    return client


def test_staff_without_the_activate_permission_cannot_activate(viewer_client, tiny_model_dir):
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    page = viewer_client.get(reverse("admin:training_modelversion_change", args=[version.pk])).content.decode()
    assert "Activate this version" not in page and ">Evaluate<" not in page
    changelist = viewer_client.get(reverse("admin:training_modelversion_changelist")).content.decode()
    assert "activate_selected" not in changelist and "evaluate_selected" not in changelist
    assert "Retrain" not in changelist

    url = reverse("admin:training_modelversion_activate", args=[version.pk])
    assert viewer_client.post(url).status_code == 403
    viewer_client.post(reverse("admin:training_modelversion_changelist"),
                       {"action": "activate_selected", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert not version.is_active
    assert viewer_client.get(reverse("admin:training_modelversion_retrain")).status_code == 403
    assert viewer_client.get(reverse("admin:training_modelversion_evaluate", args=[version.pk])).status_code == 403


def test_the_activate_permission_alone_allows_the_action_and_the_button(client, tiny_model_dir):
    activator = grant(UserFactory(username="activator", is_staff=True), "training.view_modelversion",
                      ACTIVATE_MODEL_VERSION)
    client.force_login(activator)
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    page = client.get(reverse("admin:training_modelversion_change", args=[version.pk])).content.decode()
    assert "Activate this version" in page
    client.post(reverse("admin:training_modelversion_changelist"),
                {"action": "activate_selected", "_selected_action": [version.pk]})
    assert ModelVersion.objects.get(is_active=True) == version


def test_staff_without_the_cancel_permission_cannot_cancel(viewer_client):
    job = TrainingJobFactory(state="RUNNING")
    page = viewer_client.get(reverse("admin:training_trainingjob_change", args=[job.pk])).content.decode()
    assert "Cancel this job" not in page
    assert "cancel_selected" not in viewer_client.get(reverse("admin:training_trainingjob_changelist")).content.decode()
    assert viewer_client.post(reverse("admin:training_trainingjob_cancel", args=[job.pk])).status_code == 403
    viewer_client.post(reverse("admin:training_trainingjob_changelist"),
                       {"action": "cancel_selected", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert not job.cancel_requested and job.state == "RUNNING"


def test_job_plots_need_the_view_permission(client, tmp_path):
    job = TrainingJobFactory(output_dir=str(tmp_path))
    (tmp_path / "metrics_confusion.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    url = reverse("admin:training_trainingjob_image", args=[job.pk, "metrics_confusion.png"])
    client.force_login(UserFactory(username="nobody-staff", is_staff=True))
    assert client.get(url).status_code == 403
    client.force_login(grant(UserFactory(username="job-viewer", is_staff=True), VIEW_JOBS))
    assert client.get(url).status_code == 200

"""Training jobs run by training.services (what the Celery task calls): success, failure, cancel, restart."""

import os
from datetime import timedelta

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import ModelVersionFactory, TrainingJobFactory
from tests.training.conftest import make_faces
from training import selectors, tasks
from training.core import trainer
from training.core.trainer import EpochReport, TrainingCancelled
from training.models import ModelVersion, TrainingJob
from training.services import execution, jobs, registry
from training.services.job_rows import AttemptSuperseded, finish_job

pytestmark = pytest.mark.django_db



@pytest.fixture
def data_root(settings, tmp_path, tiny_npz):
    """TRAINING_DATA_ROOTS holds the tiny .npz and a malformed one; artifacts go to tmp."""
    settings.TRAINING_DATA_ROOTS = [tiny_npz.parent]
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "artifacts"
    (tiny_npz.parent / "broken.npz").write_bytes(b"this is not a zip archive")
    return tiny_npz.parent


@pytest.fixture
def queued(data_root, django_capture_on_commit_callbacks):
    """Create a retrain job without sending it anywhere (the on-commit dispatch is captured, not run)."""
    def make(dataset: str = "tiny.npz", **kwargs) -> TrainingJob:
        options = {"batch_size": 16, "jit_compile": False, **kwargs.pop("options", {})}
        with django_capture_on_commit_callbacks(execute=False):
            return jobs.create_retrain_job(architecture="tiny", epochs=kwargs.pop("epochs", 1),
                                               dataset=data_root / dataset, options=options, **kwargs)
    return make


def report(epoch: int, epochs: int) -> EpochReport:
    return EpochReport(epoch, epochs, 1.5, 0.3, 1.6, 0.25, 1e-3, 2.0, 0.25)


@pytest.fixture
def fake_train(monkeypatch):
    """Replace training with a stand-in that reports epochs (and records how it was called)."""
    calls = []

    def train(config, *, resume=False, on_epoch=None, verbose=1, evaluate_at_end=True):
        calls.append({"config": config, "resume": resume})
        for epoch in range(1, config.epochs + 1):
            on_epoch(report(epoch, config.epochs))
        raise RuntimeError("the fake stops here")

    monkeypatch.setattr(trainer, "train", train)
    return calls


def run(job: TrainingJob) -> TrainingJob:
    job.refresh_from_db()
    execution.run_job(job.pk, dispatch=job.dispatch, worker="celery@test")
    job.refresh_from_db()
    return job


def test_retrain_succeeds_and_registers_an_inactive_version(queued):
    active_before = selectors.active_model_version()
    job = run(queued(name="tiny-ok"))
    assert job.state == "SUCCEEDED", job.error
    assert (job.progress, job.current_epoch, job.attempts, job.worker) == (100, 1, 1, "celery@test")
    assert job.started_at <= job.finished_at
    assert "epoch 1/1: loss" in job.log_tail and "registered version tiny-ok" in job.log_tail
    version = job.result_version
    assert version.name == "tiny-ok" and not version.is_active and version.architecture == "tiny"
    assert version.split == "PrivateTest" and len(version.metrics["confusion_matrix"]) == 7
    assert version.training_config["epochs"] == 1 and job.metrics["accuracy"] == version.accuracy
    assert set(selectors.job_images(job)) == {"metrics_confusion.png", "metrics_curves.png"}
    assert selectors.active_model_version() == active_before


def test_retrain_options_reach_the_training_configuration(queued, fake_train):
    run(queued(epochs=3, options={"schedule": "cosine", "warmup_epochs": 1, "label_smoothing": 0.1}))
    config = fake_train[0]["config"]
    assert (config.schedule, config.warmup_epochs, config.label_smoothing, config.epochs) == ("cosine", 1, 0.1, 3)


def test_malformed_data_fails_with_the_reason_and_changes_nothing(queued):
    versions_before = set(ModelVersion.objects.values_list("pk", "is_active"))
    job = run(queued(dataset="broken.npz"))
    assert job.state == "FAILED"
    assert "broken.npz: not a readable .npz file" in job.error
    assert job.finished_at is not None and job.result_version is None
    assert set(ModelVersion.objects.values_list("pk", "is_active")) == versions_before


def test_progress_is_written_per_epoch_and_a_cancel_stops_training(queued, fake_train):
    job = queued(epochs=4)
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING")
    on_epoch = execution.epoch_progress_reporter(job.pk)
    on_epoch(report(1, 4))
    job.refresh_from_db()
    assert (job.progress, job.current_epoch) == (24, 1)
    jobs.cancel_job(job)
    with pytest.raises(TrainingCancelled):
        on_epoch(report(2, 4))
    job.refresh_from_db()
    assert job.current_epoch == 2 and "cancel requested" in job.log_tail


def test_a_cancel_during_training_ends_cancelled(queued, monkeypatch):
    job = queued(epochs=3)

    def train(config, *, resume=False, on_epoch=None, **kwargs):
        jobs.cancel_job(TrainingJob.objects.get(pk=job.pk))  # an admin clicks Cancel during epoch 1
        on_epoch(report(1, config.epochs))

    monkeypatch.setattr(trainer, "train", train)
    job = run(job)
    assert job.state == "CANCELLED" and job.current_epoch == 1 and job.result_version is None


def test_cancel_a_queued_job_and_not_a_finished_one(queued):
    job = jobs.cancel_job(queued())
    assert job.state == "CANCELLED" and job.finished_at is not None
    assert run(job).attempts == 0  # its message is then ignored
    with pytest.raises(ValidationError, match="nothing to cancel"):
        jobs.cancel_job(job)


def test_a_job_found_running_resumes_from_its_checkpoint(queued, fake_train):
    job = queued(epochs=2)
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", attempts=1, worker="celery@gone")
    job = run(job)  # the same message, redelivered after the worker was lost
    assert fake_train[0]["resume"] is True and fake_train[0]["config"].out == job.output_dir
    assert job.attempts == 2 and "resuming from the last checkpoint" in job.log_tail
    assert job.state == "FAILED" and "the fake stops here" in job.error


def test_a_redelivered_message_leaves_a_live_run_alone(queued, fake_train, settings):
    settings.TRAINING_HEARTBEAT_TIMEOUT = 3600
    job = queued()
    recent = timezone.now() - timedelta(minutes=10)
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", attempts=1, worker="celery@busy", heartbeat_at=recent)
    job = run(job)  # Redis sent the message again while the first run is still reporting epochs
    assert fake_train == [] and job.state == "RUNNING" and job.attempts == 1 and job.heartbeat_at == recent


def test_a_run_whose_process_died_on_this_node_is_resumed_at_once(queued, fake_train, settings):
    """A prefork child killed mid-job: Celery gives the message back to the same node at once."""
    import subprocess
    import sys

    settings.TRAINING_HEARTBEAT_TIMEOUT = 3600
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job = queued()
    recent = timezone.now() - timedelta(minutes=10)
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", attempts=1, worker="celery@test",
                                                 worker_pid=dead.pid, heartbeat_at=recent)
    job = run(job)
    assert fake_train[0]["resume"] is True and job.attempts == 2


def test_a_run_in_a_live_process_of_this_node_is_left_alone(queued, fake_train, settings):
    import os

    settings.TRAINING_HEARTBEAT_TIMEOUT = 3600
    job = queued()
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", attempts=1, worker="celery@test",
                                                 worker_pid=os.getppid(), heartbeat_at=timezone.now())
    job = run(job)
    assert fake_train == [] and job.attempts == 1


def test_a_run_silent_for_longer_than_the_heartbeat_timeout_is_resumed(queued, fake_train, settings):
    settings.TRAINING_HEARTBEAT_TIMEOUT = 3600
    job = queued()
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", attempts=1, worker="celery@gone",
                                                 heartbeat_at=timezone.now() - timedelta(hours=2))
    job = run(job)
    assert fake_train[0]["resume"] is True and job.attempts == 2


def test_stale_and_finished_messages_are_ignored(queued, fake_train):
    job = queued()
    execution.run_job(job.pk, dispatch=job.dispatch - 1, worker="w")
    TrainingJob.objects.filter(pk=job.pk).update(state="SUCCEEDED")
    execution.run_job(job.pk, dispatch=job.dispatch, worker="w")
    assert fake_train == [] and TrainingJob.objects.get(pk=job.pk).attempts == 0
    assert execution.run_job(10**9, dispatch=1) is None


def test_a_job_that_keeps_losing_its_worker_gives_up(queued, fake_train):
    job = queued()
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", attempts=execution.MAX_ATTEMPTS)
    job = run(job)
    assert job.state == "FAILED" and "gave up after 3 attempts" in job.error and fake_train == []


def test_a_restarted_worker_requeues_its_interrupted_jobs(queued, django_capture_on_commit_callbacks):
    mine, other = queued(), queued()
    TrainingJob.objects.filter(pk=mine.pk).update(state="RUNNING", worker="celery@here")
    TrainingJob.objects.filter(pk=other.pk).update(state="RUNNING", worker="celery@elsewhere")
    with django_capture_on_commit_callbacks() as callbacks:
        assert [job.pk for job in jobs.recover_interrupted_jobs("celery@here")] == [mine.pk]
    assert len(callbacks) == 1
    mine.refresh_from_db()
    assert mine.dispatch == 2 and "queued again to resume" in mine.log_tail
    assert mine.heartbeat_at is None  # so the re-queued message resumes it at once


def test_dispatch_happens_on_commit_and_a_broker_failure_fails_the_job(queued, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(jobs.current_app, "send_task", lambda name, args, **options: sent.append((name, args, options)))
    job = queued()
    jobs.send_to_worker(job.pk, job.dispatch)
    assert sent == [(tasks.run_training_job.name, (job.pk, 1), {})]

    def unreachable(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(jobs.current_app, "send_task", unreachable)
    jobs.send_to_worker(job.pk, job.dispatch)
    job.refresh_from_db()
    assert job.state == "FAILED" and "could not reach the task queue: broker down" in job.error


def test_the_task_calls_the_service(queued, fake_train):
    job = queued()
    assert tasks.run_training_job(job.pk, job.dispatch) == "FAILED" and len(fake_train) == 1
    assert tasks.run_training_job(job.pk, job.dispatch) == "skipped"


def test_evaluate_stores_metrics_and_plots_on_the_job(data_root, tiny_model_dir, django_capture_on_commit_callbacks):
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    with django_capture_on_commit_callbacks():
        job = jobs.create_evaluate_job(version=version, dataset=data_root / "tiny.npz", split="PublicTest")
    job = run(job)
    assert job.state == "SUCCEEDED", job.error
    assert job.metrics["split"] == "PublicTest" and job.metrics["n"] == 21
    assert len(job.metrics["confusion_matrix"]) == 7 and job.progress == 100
    assert selectors.job_images(job) == ["metrics_confusion.png"]
    assert ModelVersion.objects.get(pk=version.pk).metrics == version.metrics  # the version is unchanged


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"architecture": "resnet"}, "architecture: choose one of"),
    ({"epochs": 0}, "epochs: between 1 and"),
    ({"dataset": "/etc/passwd"}, "is not one of the data sets"),
    ({"name": "Not A Slug"}, "name: use lower-case"),
    ({"options": {"colour": "blue"}}, "unknown training option(s): colour"),
    ({"options": {"batch_size": -1}}, "batch_size: between 1 and 4096"),
    ({"options": {"warmup_epochs": -1}}, "warmup_epochs: between 0 and 500"),
    ({"options": {"schedule": "linear"}}, "schedule: choose one of plateau, cosine"),
    ({"options": {"optimizer": "lion"}}, "optimizer: choose one of adam, adamw, sgd"),
    ({"options": {"seed": -1}}, "seed: between 0 and"),
    ({"options": {"epochs": 3}}, "not options but fields of the job"),
])
def test_retrain_requests_are_validated(data_root, kwargs, problem):
    arguments = {"architecture": "tiny", "epochs": 1, "dataset": data_root / "tiny.npz", **kwargs}
    with pytest.raises(ValidationError) as error:
        jobs.create_retrain_job(**arguments)
    assert problem in str(error.value)
    assert not TrainingJob.objects.exists()


def test_a_name_is_used_once(queued):
    TrainingJobFactory(name="taken")
    with pytest.raises(ValidationError, match="is taken"):
        queued(name="taken")


def test_a_retrain_fine_tunes_a_version_and_averages_its_weights(queued, data_root, tmp_path):
    base = tmp_path / "base"
    trainer.train(trainer.TrainConfig(data=str(data_root / "tiny.npz"), out=str(base), architecture="tiny",
                                      epochs=1, batch_size=16, jit_compile=False, command="base run"), verbose=0)
    version = registry.register_model_version(name="base", artifact_dir=base)

    job = run(queued(name="tuned", epochs=2, start_from=version,
                     options={"swa_start": 0, "schedule": "constant", "learning_rate": 0.01}))
    assert job.state == "SUCCEEDED", job.error
    assert job.parameters["start_version"] == "base" and job.parameters["init_from"] == str(base)
    tuned = job.result_version
    assert tuned.architecture == "tiny" and tuned.training_config["init_from"] == str(base)
    assert tuned.training_config["commands"] == ["base run", "training job tuned"]
    assert tuned.metrics["swa"]["epochs_averaged"] == 2


def test_fine_tuning_an_ensemble_takes_the_chosen_networks_architecture(queued):
    ensemble = ModelVersionFactory(architecture="ensemble", artifact_dir="/models/ens", training_config={
        "architecture": "ensemble", "members": [{"architecture": "fernet_deep"}, {"architecture": "fernet"}]})
    job = queued(start_from=ensemble, options={"init_member": 2})
    assert job.parameters["architecture"] == "fernet" and job.parameters["init_member"] == 2
    assert job.parameters["init_from"] == "/models/ens"

    with pytest.raises(ValidationError, match=f"init_member: {ensemble.name} holds 2 network"):
        queued(start_from=ensemble, options={"init_member": 3})
    with pytest.raises(ValidationError, match="holds 1 network"):
        queued(start_from=ModelVersionFactory(), options={"init_member": 2})
    with pytest.raises(ValidationError, match="only for a job that starts from a version"):
        queued(options={"init_member": 1})


def test_a_retrain_trains_towards_fer_plus_votes(queued, data_root, settings, tmp_path):
    pixels, labels = make_faces(112)
    np.savez(data_root / "rows.npz", pixels=pixels, emotion=labels, usage=np.array([0] * 70 + [1] * 21 + [2] * 21),
             fer2013_row=np.arange(112))
    settings.FERPLUS_VOTES_PATH = tmp_path / "fer2013new.csv"
    settings.FERPLUS_VOTES_PATH.write_text("neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
                                           + "5,5,0,0,0,0,0,0,0,0\n" * 112)

    job = run(queued("rows.npz", name="voted", options={"soft_label_weight": 0.3}))
    assert job.state == "SUCCEEDED", job.error
    assert job.parameters["soft_labels"] == str(settings.FERPLUS_VOTES_PATH)
    config = job.result_version.training_config
    assert (config["soft_labels"], config["soft_label_weight"]) == (str(settings.FERPLUS_VOTES_PATH), 0.3)

    # Faces without rows of fer2013.csv cannot be joined to votes: the job fails and says why.
    job = run(queued(options={"soft_label_weight": 0.3}))
    assert job.state == "FAILED" and "no row numbers of fer2013.csv" in job.error
    assert not ModelVersion.objects.filter(name=job.name).exists()


def test_a_vote_weight_needs_the_vote_file(queued, settings, tmp_path):
    settings.FERPLUS_VOTES_PATH = tmp_path / "absent.csv"
    with pytest.raises(ValidationError, match=r"soft_label_weight: no FER\+ votes at .*absent\.csv"):
        queued(options={"soft_label_weight": 0.3})
    with pytest.raises(ValidationError, match="soft_label_weight: between 0 and 1"):
        queued(options={"soft_label_weight": 1.5})
    assert "soft_labels" not in queued(options={"soft_label_weight": 0}).parameters


def test_a_job_whose_worker_is_gone_is_queued_again_and_resumed_elsewhere(
    queued, fake_train, settings, django_capture_on_commit_callbacks
):
    """The worker's container was replaced by one with another node name: no redelivery to it."""
    settings.TRAINING_HEARTBEAT_TIMEOUT = 180
    lost, alive = queued(), queued()
    silent = timezone.now() - timedelta(minutes=10)
    TrainingJob.objects.filter(pk=lost.pk).update(state="RUNNING", attempts=1, worker="celery@old", heartbeat_at=silent)
    TrainingJob.objects.filter(pk=alive.pk).update(state="RUNNING", attempts=1, worker="celery@busy",
                                                   heartbeat_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=False) as dispatched:
        assert [job.pk for job in jobs.recover_lost_jobs()] == [lost.pk]
    assert len(dispatched) == 1
    lost.refresh_from_db()
    assert lost.dispatch == 2 and "worker celery@old lost" in lost.log_tail and lost.heartbeat_at == silent

    execution.run_job(lost.pk, dispatch=lost.dispatch, worker="celery@new")
    lost.refresh_from_db()
    assert fake_train[0]["resume"] is True and lost.attempts == 2 and lost.worker == "celery@new"
    assert TrainingJob.objects.get(pk=alive.pk).state == "RUNNING"


def test_a_lost_job_with_a_cancel_request_is_cancelled_by_the_recovery(queued, settings):
    settings.TRAINING_HEARTBEAT_TIMEOUT = 180
    job = queued()
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", worker="celery@old", cancel_requested=True,
                                                 heartbeat_at=timezone.now() - timedelta(minutes=10))
    jobs.recover_lost_jobs()
    job.refresh_from_db()
    assert job.state == "CANCELLED" and job.finished_at is not None and "was lost" in job.log_tail


def test_cancelling_a_running_job_whose_worker_is_gone_ends_it_at_once(queued, settings):
    settings.TRAINING_HEARTBEAT_TIMEOUT = 180
    orphan, running = queued(), queued()
    TrainingJob.objects.filter(pk=orphan.pk).update(state="RUNNING", worker="celery@old",
                                                    heartbeat_at=timezone.now() - timedelta(minutes=10))
    TrainingJob.objects.filter(pk=running.pk).update(state="RUNNING", worker="celery@busy",
                                                     heartbeat_at=timezone.now())
    assert jobs.cancel_job(orphan).state == "CANCELLED"
    cancelled = jobs.cancel_job(running)
    assert cancelled.state == "RUNNING" and cancelled.cancel_requested


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_stamps_a_running_job_from_its_own_thread(queued, settings):
    import os
    import time

    settings.TRAINING_HEARTBEAT_SECONDS = 0.05
    job = queued()
    old = timezone.now() - timedelta(minutes=10)
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", worker_pid=os.getpid(), heartbeat_at=old, attempts=1)
    with execution.Heartbeat(job.pk, 1):
        deadline = time.monotonic() + 10
        while TrainingJob.objects.get(pk=job.pk).heartbeat_at == old and time.monotonic() < deadline:
            time.sleep(0.05)
    assert TrainingJob.objects.get(pk=job.pk).heartbeat_at > old


def test_the_periodic_recovery_task_calls_the_service(queued, settings):
    settings.TRAINING_HEARTBEAT_TIMEOUT = 180
    job = queued()
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", worker="celery@old", cancel_requested=True,
                                                 heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert tasks.recover_lost_jobs() == 1


def test_a_lost_job_no_worker_takes_is_failed_after_a_few_requeues(queued, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.TRAINING_HEARTBEAT_TIMEOUT = 180
    job = queued()
    TrainingJob.objects.filter(pk=job.pk).update(state="RUNNING", attempts=1, worker="celery@old",
                                                 heartbeat_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(jobs.MAX_UNTAKEN_REQUEUES + 1):  # beat, minute after minute, with no worker up
            jobs.recover_lost_jobs()
    job.refresh_from_db()
    assert job.state == "FAILED" and "no worker took the job" in job.error
    assert job.dispatch - job.attempts == jobs.MAX_UNTAKEN_REQUEUES


def test_an_attempt_whose_job_was_taken_over_writes_nothing(db):
    """A worker thought lost (no heartbeat) may still be running: once another worker has taken
    the job over (attempt 2) or it was ended, the old attempt's epoch reports and its end are refused."""
    job = TrainingJobFactory(state=TrainingJob.State.RUNNING, attempts=2, current_epoch=3)
    report = EpochReport(epoch=4, epochs=10, loss=1.0, accuracy=0.5, val_loss=1.1, val_accuracy=0.4,
                         learning_rate=1e-3, seconds=1.0, best_val_accuracy=0.4)
    with pytest.raises(AttemptSuperseded):
        execution.epoch_progress_reporter(job.pk, attempt=1)(report)
    with pytest.raises(AttemptSuperseded):
        finish_job(job.pk, TrainingJob.State.SUCCEEDED, attempt=1)
    job.refresh_from_db()
    assert (job.state, job.current_epoch) == (TrainingJob.State.RUNNING, 3)

    execution.epoch_progress_reporter(job.pk, attempt=2)(report)  # the owner writes
    job.refresh_from_db()
    assert job.current_epoch == 4

    finish_job(job.pk, TrainingJob.State.CANCELLED)  # e.g. cancelled while its worker was gone
    with pytest.raises(AttemptSuperseded):
        execution.epoch_progress_reporter(job.pk, attempt=2)(report)
    job.refresh_from_db()
    assert job.state == TrainingJob.State.CANCELLED


def test_a_web_process_queues_a_job_without_importing_the_tasks_module(tmp_path):
    """A server or `manage.py shell` never imports training.tasks (only Celery workers do): the job
    must still reach the queue, not fail with an unregistered task."""
    import subprocess
    import sys

    code = (
        "import django, os, sys\n"
        "django.setup()\n"
        "from celery import current_app\n"
        "from training.services import jobs\n"
        "sent = []\n"
        "current_app.send_task = lambda name, args, **options: sent.append(name)\n"
        "jobs.send_to_worker(0, 1)\n"
        "assert 'training.tasks' not in sys.modules, 'the tasks module was imported'\n"
        "print(sent)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fer_site.settings"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                            cwd=settings.BASE_DIR)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("['training.run_job']")

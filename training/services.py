"""Writes: registering and activating model versions; creating, running and cancelling training jobs.

Training and evaluation themselves live in `training.core` (plain Python); this module wires them to
the database: a job's row is its progress report, its cancel switch and its result.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from fer2013 import SPLITS
from training import selectors
from training.core.options import JOB_OPTIONS, OptionError
from training.models import SHIPPED_NAME, ModelVersion, TrainingJob
from training.signals import model_activated

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 40
MAX_ATTEMPTS = 3
# The options a retrain job sets in its `options`; architecture and epochs are its own fields.
JOB_FIELDS = ("architecture", "epochs")
TRAIN_OPTIONS = {name: spec for name, spec in JOB_OPTIONS.items() if name not in JOB_FIELDS}
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


# --- Model versions ------------------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def read_artifact_info(model_dir: str | Path) -> dict[str, Any]:
    """Architecture, data set, split, training config and metrics from an artifact directory's JSON files."""
    model_dir = Path(model_dir)
    config = _read_json(model_dir / "config.json")
    metrics = _read_json(model_dir / "metrics.json")
    metrics.pop("training", None)  # a copy of config.json
    return {
        "architecture": str(config.get("architecture", "")),
        "dataset": str(metrics.get("data") or config.get("data") or ""),
        "split": str(metrics.get("split") or config.get("test_split") or ""),
        "training_config": config,
        "metrics": metrics,
    }


def register_model_version(*, name: str, artifact_dir: str | Path) -> ModelVersion:
    """Create (or refresh) the version called `name` from the artifacts in `artifact_dir`; never activates."""
    artifact_dir = Path(artifact_dir)
    if not (artifact_dir / "model.tflite").is_file():
        raise ValidationError(f"{artifact_dir}: no model.tflite in this directory")
    version, _ = ModelVersion.objects.update_or_create(
        name=name, defaults={"artifact_dir": str(artifact_dir), **read_artifact_info(artifact_dir)}
    )
    return version


def register_shipped_model() -> ModelVersion | None:
    """Register settings.EMOTION_MODEL_DIR as version "shipped"; active when no other version is.

    Idempotent (runs after every `migrate`); does nothing while the directory holds no model yet.
    """
    model_dir = Path(settings.EMOTION_MODEL_DIR)
    if not (model_dir / "model.tflite").is_file():
        logger.info("No shipped model at %s yet: nothing registered", model_dir)
        return None
    with transaction.atomic():
        version = register_model_version(name=SHIPPED_NAME, artifact_dir=model_dir)
        if not ModelVersion.objects.select_for_update().filter(is_active=True).exists():
            # At migrate time no process serves recognition from the registry yet: no broadcast needed.
            ModelVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=timezone.now())
            version.refresh_from_db()
    return version


def activate_model_version(version: ModelVersion) -> ModelVersion:
    """Make `version` the one active version; after the commit every live consumer switches to it."""
    if not (Path(version.artifact_dir) / "model.tflite").is_file():
        raise ValidationError(f"{version.name} cannot be activated: {version.artifact_dir} has no model.tflite")
    with transaction.atomic():
        # Lock the current active row and the target, so two activations serialise.
        list(ModelVersion.objects.select_for_update().filter(Q(is_active=True) | Q(pk=version.pk)))
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=timezone.now())
        version.refresh_from_db()
        transaction.on_commit(partial(broadcast_model_activated, version))
    logger.info("Activated model version %s (%s)", version.name, version.artifact_dir)
    return version


def broadcast_model_activated(version: ModelVersion) -> None:
    """Announce the activation (signal `model_activated`): the emotions app switches this process
    and tells every live session, in any process, over the channel layer."""
    for receiver, result in model_activated.send_robust(
        sender=ModelVersion, version=version, model_dir=str(version.artifact_dir), label=version.name
    ):
        if isinstance(result, Exception):  # the activation is committed; a receiver must not undo it
            logger.error("model_activated receiver %r failed: %s", receiver, result)


# --- Jobs: creation, dispatch, cancellation ---------------------------------------------------------------


def _new_job_name(prefix: str) -> str:
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _artifacts_dir() -> Path:
    return Path(settings.TRAINING_ARTIFACTS_DIR)


def _check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValidationError("name: use lower-case letters, digits, '-' and '_' (at most 100)")
    if TrainingJob.objects.filter(name=name).exists() or ModelVersion.objects.filter(name=name).exists():
        raise ValidationError(f"name: {name!r} is taken")
    if (_artifacts_dir() / name).exists():
        raise ValidationError(f"name: {_artifacts_dir() / name} exists already")
    return name


def _check_dataset(dataset: str | Path) -> Path:
    path = Path(dataset).resolve()
    if path not in selectors.available_datasets():
        raise ValidationError(f"dataset: {dataset} is not one of the data sets in TRAINING_DATA_ROOTS")
    return path


def check_training_options(options: dict[str, Any]) -> dict[str, Any]:
    """The job options (`JOB_OPTIONS`: those of `options` plus architecture and epochs) as their
    types; ValidationError for an unknown option or a value its spec refuses. None means: unset."""
    unknown = set(options) - set(JOB_OPTIONS)
    if unknown:
        raise ValidationError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    try:
        return {name: JOB_OPTIONS[name].check(value) for name, value in options.items()
                if value is not None or name in JOB_FIELDS}
    except OptionError as error:
        raise ValidationError(str(error)) from None


def _soft_label_source(options: dict[str, Any]) -> dict[str, str]:
    """With a vote weight, the job trains towards settings.FERPLUS_VOTES_PATH's FER+ votes."""
    if not options.get("soft_label_weight"):
        return {}
    votes = Path(settings.FERPLUS_VOTES_PATH)
    if not votes.is_file():
        raise ValidationError(f"soft_label_weight: no FER+ votes at {votes} (settings.FERPLUS_VOTES_PATH)")
    return {"soft_labels": str(votes)}


def _member_architecture(version: ModelVersion, member: int) -> str:
    """The architecture of `version`'s `member`-th network (1 for a single network)."""
    members = version.training_config.get("members") if version.architecture == "ensemble" else None
    architectures = [entry.get("architecture", "") for entry in members] if members else [version.architecture]
    if not 1 <= member <= len(architectures):
        raise ValidationError(f"init_member: {version.name} holds {len(architectures)} network(s)")
    return architectures[member - 1]


def create_retrain_job(
    *,
    architecture: str = "",
    epochs: int,
    dataset: str | Path,
    created_by=None,
    name: str = "",
    options: dict[str, Any] | None = None,
    start_from: ModelVersion | None = None,
) -> TrainingJob:
    """Queue training a new version on one of the available data sets (sent to Celery on commit).
    With `start_from`, the job fine-tunes that version's network (option `init_member` picks one
    of an ensemble's) and keeps its architecture."""
    options = options or {}
    if set(options) & set(JOB_FIELDS):
        raise ValidationError(f"{', '.join(JOB_FIELDS)}: not options but fields of the job")
    checked = check_training_options(options)
    if start_from is not None:
        architecture = _member_architecture(start_from, checked.get("init_member", 1))
    elif "init_member" in checked:
        raise ValidationError("init_member: only for a job that starts from a version")
    fields = check_training_options({"architecture": architecture, "epochs": epochs})
    architecture, epochs = fields["architecture"], fields["epochs"]
    data = _check_dataset(dataset)
    name = _check_name(name) if name else _new_job_name(architecture)
    parameters = {"architecture": architecture, "epochs": epochs, "data": str(data), **checked,
                  **_soft_label_source(checked)}
    if start_from is not None:
        parameters |= {"start_version": start_from.name, "init_from": start_from.artifact_dir}
    job = TrainingJob.objects.create(
        name=name, kind=TrainingJob.Kind.RETRAIN, parameters=parameters, total_epochs=epochs,
        source_version=start_from,
        output_dir=str(_artifacts_dir() / name), created_by=created_by,
    )
    enqueue_job(job)
    job.refresh_from_db()  # FAILED already if the queue could not be reached (see queue_was_down)
    return job


def create_evaluate_job(
    *, version: ModelVersion, dataset: str | Path, split: str = "PrivateTest", created_by=None, tta: bool = False
) -> TrainingJob:
    """Queue evaluating `version` on a data set split; the metrics and plots land on the job."""
    if split not in SPLITS:
        raise ValidationError(f"split: choose one of {', '.join(SPLITS)}")
    data = _check_dataset(dataset)
    name = _new_job_name(f"eval-{version.name}"[:70])
    job = TrainingJob.objects.create(
        name=name, kind=TrainingJob.Kind.EVALUATE, source_version=version, created_by=created_by,
        parameters={"data": str(data), "split": split, "tta": bool(tta)}, output_dir=str(_artifacts_dir() / name),
    )
    enqueue_job(job)
    job.refresh_from_db()
    return job


def enqueue_job(job: TrainingJob) -> None:
    """Number this dispatch and send the job to the workers once the transaction commits."""
    TrainingJob.objects.filter(pk=job.pk).update(dispatch=F("dispatch") + 1)
    job.refresh_from_db(fields=["dispatch"])
    transaction.on_commit(partial(_send_to_worker, job.pk, job.dispatch))


QUEUE_UNAVAILABLE = "could not reach the task queue"


def queue_was_down(job: TrainingJob) -> bool:
    """The job could not be handed to the workers (the broker is down): it is recorded as FAILED."""
    return job.state == TrainingJob.State.FAILED and job.error.startswith(QUEUE_UNAVAILABLE)


def queue_down_message(job: TrainingJob) -> str:
    """What the admin and the API tell whoever queued a job that `queue_was_down`."""
    return (f"The training queue is unavailable ({job.error}); {job.name} was recorded as failed. "
            "Try again when the queue is back.")


def _send_to_worker(job_id: int, dispatch: int) -> None:
    from training.tasks import run_training_job

    queue = settings.TRAINING_QUEUE
    try:
        run_training_job.apply_async(args=(job_id, dispatch), **({"queue": queue} if queue else {}))
    except Exception as exc:
        logger.exception("Could not queue training job %s", job_id)
        _finish(job_id, TrainingJob.State.FAILED, error=f"{QUEUE_UNAVAILABLE}: {exc}")


def cancel_job(job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once; a running one stops after its current epoch, or at once
    if its worker is gone (no heartbeat for `TRAINING_HEARTBEAT_TIMEOUT`)."""
    with transaction.atomic():
        locked = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if locked.state == TrainingJob.State.QUEUED:
            locked.state, locked.finished_at = TrainingJob.State.CANCELLED, timezone.now()
            locked.log_tail = _append(locked.log_tail, "cancelled before it started")
        elif locked.state == TrainingJob.State.RUNNING and _worker_lost(locked):
            locked.state, locked.finished_at = TrainingJob.State.CANCELLED, timezone.now()
            locked.cancel_requested = True
            locked.log_tail = _append(locked.log_tail, f"cancelled: its worker {locked.worker} is gone")
        elif locked.state == TrainingJob.State.RUNNING:
            locked.cancel_requested = True
            locked.log_tail = _append(locked.log_tail, "cancel requested: stopping after the current epoch")
        else:
            raise ValidationError(f"{locked.name} has finished ({locked.state}); there is nothing to cancel")
        locked.save()
    return locked


# --- Jobs: execution (called by the Celery task) ----------------------------------------------------------


def _append(log: str, line: str) -> str:
    stamped = f"[{timezone.now():%H:%M:%S}] {line}"
    return "\n".join([*log.splitlines(), stamped][-LOG_TAIL_LINES:])


def _update(job_id: int, *, line: str = "", **fields: Any) -> TrainingJob:
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job_id)
        fields.setdefault("heartbeat_at", timezone.now())
        for key, value in fields.items():
            setattr(job, key, value)
        if line:
            job.log_tail = _append(job.log_tail, line)
        job.save()
    return job


def _finish(job_id: int, state: str, *, error: str = "", line: str = "", **fields: Any) -> TrainingJob:
    return _update(job_id, state=state, error=error, finished_at=timezone.now(),
                   line=line or (f"failed: {error}" if error else state.lower()), **fields)


def _run_died_on_this_node(job: TrainingJob, worker: str) -> bool:
    """The job's last run was in a process of this worker node that is gone (a prefork child the
    OOM killer took, say): the message Celery gives back must resume the job now, not in an hour."""
    if job.worker != worker or not job.worker_pid:
        return False
    if job.worker_pid == os.getpid():
        return True  # this process is taking a new task, so its earlier run has ended
    try:
        os.kill(job.worker_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def _start(job_id: int, dispatch: int, worker: str) -> tuple[TrainingJob | None, bool]:
    """Claim the job for this run: (job, resume) or (None, False) when there is nothing to run."""
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.warning("Training job %s no longer exists", job_id)
            return None, False
        if dispatch < job.dispatch or job.is_finished:
            logger.info("Skipping %s: message %s is stale or the job has finished", job.name, dispatch)
            return None, False
        resume = job.state == TrainingJob.State.RUNNING  # the previous run's worker was lost
        now = timezone.now()
        if (resume and job.heartbeat_at and now - job.heartbeat_at < _heartbeat_timeout()
                and not _run_died_on_this_node(job, worker)):
            # A redelivery (Redis re-sends unacknowledged messages after its visibility timeout)
            # while the first run is still alive and reporting epochs: let that run finish.
            logger.info("Skipping %s: still running on %s (last heartbeat %s)", job.name, job.worker, job.heartbeat_at)
            return None, False
        if resume and job.cancel_requested:
            job.state, job.finished_at = TrainingJob.State.CANCELLED, now
            job.log_tail = _append(job.log_tail, "cancelled (the worker was lost after the cancel request)")
            job.save()
            return None, False
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at = TrainingJob.State.FAILED, now
            job.error = f"gave up after {job.attempts} attempts: the worker was lost each time"
            job.log_tail = _append(job.log_tail, job.error)
            job.save()
            return None, False
        job.attempts += 1
        job.state, job.worker, job.worker_pid, job.heartbeat_at = TrainingJob.State.RUNNING, worker, os.getpid(), now
        job.started_at = job.started_at or now
        job.log_tail = _append(job.log_tail, (
            f"restarted on {worker} (attempt {job.attempts}): the previous worker was lost; resuming from "
            "the last checkpoint" if resume else f"started on {worker}"
        ))
        job.save()
    return job, resume


def _heartbeat_timeout() -> timedelta:
    return timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT)


def _worker_lost(job: TrainingJob) -> bool:
    """No heartbeat from the job's worker for `TRAINING_HEARTBEAT_TIMEOUT`: it is gone."""
    last_sign = job.heartbeat_at or job.started_at or job.created_at
    return timezone.now() - last_sign >= _heartbeat_timeout()


class Heartbeat:
    """Stamps the running job's `heartbeat_at` every `TRAINING_HEARTBEAT_SECONDS` from a thread,
    so that a lost worker is noticed within `TRAINING_HEARTBEAT_TIMEOUT` however long an epoch takes."""

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id, self.attempt = job_id, attempt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.beat, name=f"heartbeat-job-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join()

    def beat(self) -> None:
        try:
            while not self.stopped.wait(settings.TRAINING_HEARTBEAT_SECONDS):
                try:
                    TrainingJob.objects.filter(  # only while this run owns the job (not taken over)
                        pk=self.job_id, state=TrainingJob.State.RUNNING, worker_pid=os.getpid(), attempts=self.attempt
                    ).update(heartbeat_at=timezone.now())
                except DatabaseError as error:
                    logger.warning("heartbeat of training job %s failed: %s", self.job_id, error)
                    connections.close_all()  # this thread's; the next beat opens a new one
        finally:
            connections.close_all()


MAX_UNTAKEN_REQUEUES = 3  # re-queues of a lost job that no worker took before it is failed


def recover_lost_jobs() -> list[TrainingJob]:
    """Queue again the running jobs whose worker is gone (killed, its host or container replaced):
    whichever worker takes the message resumes the job from its last checkpoint, or fails it after
    `MAX_ATTEMPTS`. A cancel requested before the loss ends the job instead. Run periodically."""
    lost = [job for job in TrainingJob.objects.filter(state=TrainingJob.State.RUNNING) if _worker_lost(job)]
    recovered = []
    for job in lost:
        with transaction.atomic():
            locked = TrainingJob.objects.select_for_update().get(pk=job.pk)
            if locked.state != TrainingJob.State.RUNNING or not _worker_lost(locked):
                continue
            since = f"{locked.heartbeat_at:%H:%M:%S}" if locked.heartbeat_at else "its start"
            if locked.cancel_requested:
                _finish(locked.pk, TrainingJob.State.CANCELLED,
                        line=f"cancelled: its worker {locked.worker} was lost (no heartbeat since {since})")
            elif locked.dispatch - locked.attempts >= MAX_UNTAKEN_REQUEUES:
                _finish(locked.pk, TrainingJob.State.FAILED, error=(
                    f"its worker {locked.worker} was lost and no worker took the job after "
                    f"{MAX_UNTAKEN_REQUEUES} re-queues: are the training workers running?"))
            else:
                logger.warning("Training job %s lost its worker %s: queued again", locked.name, locked.worker)
                _update(locked.pk, heartbeat_at=locked.heartbeat_at,
                        line=f"worker {locked.worker} lost (no heartbeat since {since}): queued again to resume")
                enqueue_job(locked)
            recovered.append(locked)
    return recovered


def run_job(job_id: int, *, dispatch: int, worker: str = "") -> TrainingJob | None:
    """Run a queued job to SUCCEEDED, FAILED or CANCELLED; never raises for a failure of the job itself."""
    from training.core.trainer import TrainingCancelled

    job, resume = _start(job_id, dispatch, worker)
    if job is None:
        return None
    try:
        with Heartbeat(job.pk, job.attempts):
            if job.kind == TrainingJob.Kind.RETRAIN:
                return _run_retrain(job, resume=resume)
            return _run_evaluate(job)
    except TrainingCancelled:
        return _finish(job.pk, TrainingJob.State.CANCELLED, line="cancelled")
    except Exception as exc:  # the job failed, not the worker: record why and leave the registry alone
        logger.exception("Training job %s failed", job.name)
        return _finish(job.pk, TrainingJob.State.FAILED, error=describe_error(exc))


def describe_error(exc: Exception) -> str:
    from training.core.data import DataFormatError

    if isinstance(exc, DataFormatError | ValidationError | FileNotFoundError | ValueError):
        return "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    return f"{type(exc).__name__}: {exc}"


def epoch_callback(job_id: int) -> Callable:
    """Write each finished epoch to the job row; raise TrainingCancelled when a cancel was requested."""
    from training.core.trainer import EpochReport, TrainingCancelled

    def on_epoch(report: EpochReport) -> None:
        job = _update(
            job_id,
            current_epoch=report.epoch,
            progress=min(95, round(95 * report.epoch / max(report.epochs, 1))),
            line=(f"epoch {report.epoch}/{report.epochs}: loss {report.loss:.4f} acc {report.accuracy:.4f} "
                  f"val_loss {report.val_loss:.4f} val_acc {report.val_accuracy:.4f} ({report.seconds:.0f}s)"),
        )
        if job.cancel_requested:
            raise TrainingCancelled(f"cancel requested after epoch {report.epoch}")

    return on_epoch


def _run_retrain(job: TrainingJob, *, resume: bool) -> TrainingJob:
    from training.core.trainer import TrainConfig, train

    parameters = dict(job.parameters)
    options = {key: parameters[key] for key in TRAIN_OPTIONS if key in parameters}
    config = TrainConfig(
        data=parameters["data"], out=job.output_dir, architecture=parameters["architecture"],
        epochs=int(parameters["epochs"]), init_from=parameters.get("init_from"),
        soft_labels=parameters.get("soft_labels"), command=f"training job {job.name}", **options,
    )
    train(config, resume=resume, on_epoch=epoch_callback(job.pk), verbose=0)
    version = register_model_version(name=job.name, artifact_dir=job.output_dir)
    accuracy = version.accuracy
    return _finish(job.pk, TrainingJob.State.SUCCEEDED, progress=100, result_version=version, metrics=version.metrics,
                   line=f"registered version {version.name}" + (f" (accuracy {accuracy:.4f})" if accuracy else ""))


def _run_evaluate(job: TrainingJob) -> TrainingJob:
    from training.core.data import load_dataset
    from training.core.evaluate import evaluate_split, write_evaluation

    version = job.source_version
    if version is None:
        raise ValueError("the version to evaluate has been deleted")
    parameters = job.parameters
    dataset = load_dataset(parameters["data"])
    _update(job.pk, progress=20, line=f"loaded {len(dataset)} images from {parameters['data']}")
    metrics = evaluate_split(version.artifact_dir, dataset, parameters.get("split"), data_path=parameters["data"],
                             tta=bool(parameters.get("tta")))
    out = Path(job.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_evaluation(version.artifact_dir, metrics, json_path=out / "metrics.json", command=f"training job {job.name}")
    if TrainingJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
        return _finish(job.pk, TrainingJob.State.CANCELLED, line="cancelled (the evaluation had finished)")
    return _finish(job.pk, TrainingJob.State.SUCCEEDED, progress=100, metrics=metrics,
                   line=f"{version.name} on {metrics.get('split') or 'all rows'}: accuracy {metrics['accuracy']:.4f}")


def recover_interrupted_jobs(worker: str) -> list[TrainingJob]:
    """Re-dispatch jobs this worker node was running when it died (it has just started, so none still run).

    With Redis, acks_late also redelivers the message after the visibility timeout; the dispatch
    number makes whichever message arrives second a no-op. kombu's filesystem transport does not
    redeliver, so this is what saves the job there.
    """
    jobs = list(TrainingJob.objects.filter(state=TrainingJob.State.RUNNING, worker=worker))
    for job in jobs:
        # No heartbeat: this worker has just started, so nothing runs the job any more.
        _update(job.pk, line=f"{worker} restarted while running this job: queued again to resume", heartbeat_at=None)
        enqueue_job(job)
    return jobs

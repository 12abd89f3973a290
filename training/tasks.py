"""Celery tasks: thin wrappers around training.services (which never import this module: they
send a job's message by the task's name)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_init, worker_ready
from django.conf import settings

from training.services import execution, jobs

logger = logging.getLogger(__name__)


@shared_task(bind=True, name=jobs.RUN_JOB_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_job(self, job_id: int, dispatch: int = 1) -> str:
    """Run one training job; `dispatch` tells a stale redelivered message from the current one.

    acks_late + reject_on_worker_lost: a worker killed mid-job leaves the message unacknowledged, so
    the broker delivers it again (Redis: after the visibility timeout) and the job resumes.
    """
    job = execution.run_job(job_id, dispatch=dispatch, worker=self.request.hostname or "")
    return job.state if job is not None else "skipped"


@shared_task(name="training.recover_lost_jobs", ignore_result=True)
def recover_lost_jobs() -> int:
    """Periodic (beat): queue again the running jobs whose worker stopped sending heartbeats."""
    return len(jobs.recover_lost_jobs())


@worker_init.connect
def limit_training_threads(**kwargs) -> None:
    """A worker beside live traffic trains on `TRAINING_THREADS` threads (0: TensorFlow's choice)."""
    threads = settings.TRAINING_THREADS
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


@worker_ready.connect
def requeue_interrupted_jobs(sender=None, **kwargs) -> None:
    """A worker that starts again re-queues the jobs it was running when it stopped."""
    hostname = getattr(sender, "hostname", "")
    if not hostname:
        return
    try:
        requeued = jobs.recover_interrupted_jobs(hostname)
    except Exception:  # e.g. the database is not migrated yet: the worker must still start
        logger.exception("Could not look for interrupted training jobs")
        return
    for job in requeued:
        logger.warning("Re-queued interrupted training job %s", job.name)

"""Celery tasks of the emotions app: thin wrappers around emotions.services."""

from __future__ import annotations

from celery import shared_task

from emotions import services


@shared_task(name="emotions.sweep_stale_sessions", ignore_result=True)
def sweep_stale_sessions() -> int:
    """Periodic (beat): end the live sessions whose connection's process died."""
    return services.sweep_stale_sessions()

"""Receivers of other apps' signals: the emotions app follows the model registry of `training`."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from training.signals import model_activated

logger = logging.getLogger(__name__)


@receiver(model_activated, dispatch_uid="emotions.switch_to_activated_model")
def switch_to_activated_model(sender, *, model_dir: str, label: str = "", **kwargs) -> None:
    """Switch this process's pipeline at once; other processes switch through the channel-layer broadcast."""
    from emotions import services

    if services.activate_model(model_dir=model_dir):
        logger.info("Recognition switched to model %s (%s)", label, model_dir)

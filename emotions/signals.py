"""Receivers of other apps' signals: the emotions app follows the model registry of `training`."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver

from training.signals import model_activated

logger = logging.getLogger(__name__)


@receiver(model_activated, dispatch_uid="emotions.switch_to_activated_model")
def switch_to_activated_model(sender, *, model_dir: str, label: str = "", **kwargs) -> None:
    """Switch this process's pipeline at once; other processes switch through the channel-layer broadcast."""
    from emotions import active_model

    if active_model.switch_model(model_dir):
        logger.info("Recognition switched to model %s (%s)", label, model_dir)


@receiver(model_activated, dispatch_uid="emotions.tell_live_sessions")
def tell_live_sessions(sender, *, model_dir: str, label: str = "", **kwargs) -> None:
    """Every live consumer, in every server process, switches for its next frames (across
    processes through Redis); a process with none follows the registry at its next session."""
    from emotions.consumers import RECOGNITION_GROUP

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            RECOGNITION_GROUP, {"type": "model.activated", "model_dir": model_dir, "label": label}
        )
    except Exception:  # the activation is committed; a broken channel layer must not undo the request
        logger.exception("Could not broadcast the activation of %s", label)

"""Signals the training app sends; other apps connect to them (training never imports them)."""

from django.dispatch import Signal

# Sent (in the process that activated a version, after the commit) with `version`, `model_dir` and `label`.
# The emotions app connects receivers that switch this process's recognition pipeline and tell
# the live sessions of every process through the channel layer.
model_activated = Signal()


def register_shipped_model_after_migrate(sender, app_config=None, **kwargs) -> None:
    """Register settings.EMOTION_MODEL_DIR as a version after every migrate (idempotent)."""
    if app_config is None or app_config.label != "training":
        return
    from training.services import register_shipped_model

    register_shipped_model()

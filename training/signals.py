"""Signals the training app sends; other apps connect to them (training never imports them).
This module imports nothing of training's, so every app may import it."""

from django.dispatch import Signal

# Sent (in the process that activated a version, after the commit) with `version`, `model_dir` and `label`.
# The emotions app connects receivers that switch this process's recognition pipeline and tell
# the live sessions of every process through the channel layer.
model_activated = Signal()


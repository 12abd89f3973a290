"""The files of a model's artifact directory: what training and `ensemble` write and what serving,
the registry and the model page read. Defined here once."""

MODEL_FILE = "model.tflite"  # the directory's main model
# An ensemble's live variant: its networks without the mirror view, named in config.json's "live_variant".
LIVE_MODEL_FILE = "model_live.tflite"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"  # the main model's evaluation on PrivateTest
LIVE_METRICS_FILE = "metrics_live.json"  # the live variant's


def metrics_file_for(model_file: str) -> str:
    """Where `evaluate` writes a model file's figures by default."""
    return LIVE_METRICS_FILE if model_file == LIVE_MODEL_FILE else METRICS_FILE

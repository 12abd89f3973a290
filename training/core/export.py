"""Export a Keras model to LiteRT (TFLite) and run an exported model on batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def export_tflite(model, path: str | Path, *, calibration: np.ndarray | None = None) -> Path:
    """Write `model` as a `.tflite` file with a batch dimension that can be resized.

    By default the weights stay float32. With `calibration` faces ((N, 48, 48) uint8, a few
    hundred training images), weights and activations are quantized to int8 (the interface stays
    float32): about 2.5x faster on a CPU, for a fraction of a point of accuracy; measure it.
    """
    import tensorflow as tf

    path = Path(path)
    # from_keras_model freezes the weights into constants (a concrete-function export kept them as
    # resource variables, which the LiteRT runtime cannot read).
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is not None:
        faces = np.asarray(calibration, dtype=np.float32)[..., None]

        def representative_dataset():
            for face in faces:
                yield [face[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
    path.write_bytes(converter.convert())
    return path


def predict_tflite(path: str | Path, pixels: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Probabilities (N, classes) for (N, 48, 48) uint8 faces, using the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    outputs = []
    for start in range(0, len(pixels), batch_size):
        batch = pixels[start : start + batch_size].astype(np.float32)[..., None]
        interpreter.resize_tensor_input(input_index, batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_index).copy())
    return np.concatenate(outputs) if outputs else np.zeros((0, 7), np.float32)

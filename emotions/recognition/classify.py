"""Emotion probabilities for 48x48 grayscale face crops, from an exported LiteRT (.tflite) model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from training.core.calibration import apply_temperature, model_temperature
from training.core.labels import EMOTIONS, check_model_labels

FACE_SIZE = 48


class EmotionClassifier:
    """A loaded `.tflite` model: input (N, 48, 48, 1) float32 pixels 0..255, output (N, 7) softmax,
    rescaled by the temperature its `config.json` records (calibrated scores; see
    `training.core.calibration`).

    Load it once per process and share it. It is safe to call from several threads: one
    interpreter behind a lock. The alternative, one interpreter per thread, would multiply the
    model's memory by the size of the server's thread pool for no gain on a machine with few
    cores: a batched invoke takes ~1-2 ms and uses the cores itself (`num_threads`), while
    decoding and face detection, which take most of a frame's time, run outside the lock.
    """

    def __init__(self, model_path: str | Path, *, num_threads: int = 1) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"emotion model not found: {self.model_path}")
        check_model_labels(self.model_path.parent)
        self.temperature = model_temperature(self.model_path)
        self.num_threads = num_threads
        self._interpreter = Interpreter(model_path=str(self.model_path), num_threads=num_threads)
        input_details = self._interpreter.get_input_details()[0]
        output_details = self._interpreter.get_output_details()[0]
        self._input_index = input_details["index"]
        self._output_index = output_details["index"]
        if tuple(input_details["shape"][1:]) != (FACE_SIZE, FACE_SIZE, 1):
            raise ValueError(f"{self.model_path}: expects input {input_details['shape']}, not (N, 48, 48, 1)")
        if output_details["shape"][-1] != len(EMOTIONS):
            raise ValueError(f"{self.model_path}: gives {output_details['shape'][-1]} classes, not {len(EMOTIONS)}")
        self._lock = threading.Lock()
        self._batch_size = 0  # the input tensor's current first dimension; 0 = not allocated yet

    def classify(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) in `EMOTIONS` order for faces (N, 48, 48) uint8, in one invoke."""
        faces = np.asarray(faces)
        if faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"faces must have shape (N, {FACE_SIZE}, {FACE_SIZE}), not {faces.shape}")
        count = faces.shape[0]
        if count == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        batch = faces.astype(np.float32)[..., np.newaxis]
        with self._lock:
            if count != self._batch_size:
                self._interpreter.resize_tensor_input(self._input_index, batch.shape)
                self._interpreter.allocate_tensors()
                self._batch_size = count
            self._interpreter.set_tensor(self._input_index, batch)
            self._interpreter.invoke()
            probabilities = self._interpreter.get_tensor(self._output_index).copy()
        return apply_temperature(probabilities, self.temperature)

import numpy as np
import pytest

from training.core.data import EMOTIONS


def make_faces(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 48x48 faces with labels cycling through all seven emotions."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(count, 48, 48), dtype=np.uint8)
    labels = (np.arange(count) % len(EMOTIONS)).astype(np.uint8)
    return pixels, labels


@pytest.fixture
def tiny_npz(tmp_path):
    """A three-split .npz in the shared data set's layout: 70 Training, 21 PublicTest, 21 PrivateTest."""
    pixels, labels = make_faces(112)
    usage = np.array([0] * 70 + [1] * 21 + [2] * 21, dtype=np.uint8)
    path = tmp_path / "tiny.npz"
    np.savez(path, pixels=pixels, emotion=labels, usage=usage)
    return path

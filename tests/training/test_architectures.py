import numpy as np
import pytest

from training.core import architectures
from training.core.augment import build_augmenter


@pytest.mark.parametrize("name", sorted(architectures.ARCHITECTURES))
def test_each_architecture_builds_and_trains_one_epoch_on_a_tiny_slice(name):
    import keras

    model = architectures.build(name)
    assert model.input_shape == (None, 48, 48, 1)
    assert model.output_shape == (None, 7)
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (32, 48, 48, 1)).astype(np.float32)
    targets = keras.utils.to_categorical(np.arange(32) % 7, 7)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(faces, targets, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    probabilities = model.predict(faces[:3], verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_seed_architecture_follows_the_report():
    model = architectures.build("seed")
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size) for c in convs] == [(64, (3, 3)), (128, (5, 5)), (512, (3, 3)), (512, (3, 3))]
    dense = [layer.units for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert dense == [256, 512, 7]


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="unknown architecture 'resnet9000'"):
        architectures.build("resnet9000")


def test_augmenter_keeps_shape_and_range_and_changes_images():
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    augmented = np.asarray(build_augmenter(seed=3)(faces, training=True))
    assert augmented.shape == faces.shape
    assert augmented.min() >= 0 and augmented.max() <= 255
    assert not np.allclose(augmented, faces)

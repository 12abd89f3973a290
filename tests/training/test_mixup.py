"""Mixup (`train --mixup-alpha A`): faces and targets blended within a batch."""

import numpy as np

from tests.training.conftest import make_faces
from training.core.augment import mix_up
from training.core.data import FaceDataset
from training.core.trainer import TrainConfig, train, training_stream


def test_each_face_keeps_the_larger_share_of_its_blend_and_targets_stay_distributions():
    images = np.stack([np.full((48, 48, 1), value, np.float32) for value in (0.0, 100.0, 200.0, 250.0)])
    targets = np.eye(7, dtype=np.float32)[[0, 1, 2, 3]]
    mixed_images, mixed_targets = (t.numpy() for t in mix_up(images, targets, alpha=0.4, seed=[1, 2]))
    np.testing.assert_allclose(mixed_targets.sum(axis=1), 1, atol=1e-6)
    own_share = mixed_targets[np.arange(4), [0, 1, 2, 3]]
    partner_share = mixed_targets[np.arange(4), [3, 0, 1, 2]]  # the previous face of the batch
    assert np.all(own_share >= 0.5) and np.all(own_share < 1)
    np.testing.assert_allclose(own_share + partner_share, 1, atol=1e-6)
    # The image is blended by the very share its target was.
    partners = np.roll(images, 1, axis=0)
    expected = own_share[:, None, None, None] * images + (1 - own_share[:, None, None, None]) * partners
    np.testing.assert_allclose(mixed_images, expected, rtol=1e-5, atol=1e-3)


def test_the_same_seed_draws_the_same_blends_and_another_seed_others():
    images = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)
    targets = np.eye(7, dtype=np.float32)[np.arange(8) % 7]
    first, _ = mix_up(images, targets, alpha=0.2, seed=[5, 0])
    again, _ = mix_up(images, targets, alpha=0.2, seed=[5, 0])
    other, _ = mix_up(images, targets, alpha=0.2, seed=[5, 1])
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.allclose(first.numpy(), other.numpy())


def test_a_small_alpha_blends_little_and_a_large_one_about_evenly():
    images = np.zeros((2000, 48, 48, 1), np.float32)
    targets = np.eye(7, dtype=np.float32)[np.arange(2000) % 7]
    _, small = mix_up(images, targets, alpha=0.01, seed=[3, 4])
    _, large = mix_up(images, targets, alpha=50.0, seed=[3, 4])
    own_small = small.numpy()[np.arange(2000), np.arange(2000) % 7]
    own_large = large.numpy()[np.arange(2000), np.arange(2000) % 7]
    assert np.median(own_small) > 0.99  # Beta(0.01, 0.01) lies almost all at 0 or 1
    assert 0.5 <= np.median(own_large) < 0.6  # Beta(50, 50) lies close to one half


def test_each_pass_over_the_data_draws_new_blends_and_a_rebuilt_stream_the_same_ones():
    faces = FaceDataset(*make_faces(64))
    config = TrainConfig(data="", out="", batch_size=64, augment=False, mixup_alpha=0.4, seed=2)

    def two_passes(stream):
        return [next(iter(stream))[1].numpy().max(axis=1) for _ in range(2)]

    first, second = two_passes(training_stream(faces, config))
    # The second epoch blends by other shares (drawing the same shares again would leave every
    # position whose partner has another label with the same value).
    assert np.isclose(first, second).mean() < 0.3
    again, _ = two_passes(training_stream(faces, config))
    np.testing.assert_array_equal(first, again)  # the run's seed fixes them


def test_the_training_stream_blends_only_when_mixup_is_on():
    faces = FaceDataset(*make_faces(32))
    plain = TrainConfig(data="", out="", batch_size=32, augment=False)
    mixed = TrainConfig(data="", out="", batch_size=32, augment=False, mixup_alpha=0.4)
    _, plain_targets = next(iter(training_stream(faces, plain)))
    _, mixed_targets = next(iter(training_stream(faces, mixed)))
    assert set(np.unique(plain_targets.numpy())) == {0.0, 1.0}
    # Every face shares its target with another, unless that one has the same label.
    blended = mixed_targets.numpy().max(axis=1) < 1
    assert blended.mean() > 0.5
    np.testing.assert_allclose(mixed_targets.numpy().sum(axis=1), 1, atol=1e-6)


def test_a_run_with_mixup_trains_and_records_the_option(tiny_npz, tmp_path):
    config = TrainConfig(data=str(tiny_npz), out=str(tmp_path / "run"), architecture="tiny", epochs=1,
                         batch_size=16, jit_compile=False, mixup_alpha=0.2, command="test")
    result = train(config, verbose=0, evaluate_at_end=False)
    assert np.isfinite(result.state.history[-1]["loss"])
    assert (tmp_path / "run" / "config.json").read_text().count('"mixup_alpha": 0.2') == 1

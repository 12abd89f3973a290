"""FER+ votes as soft training targets (`train --soft-labels`)."""

import numpy as np
import pytest

from training.core.data import DataFormatError, FaceDataset
from training.core.ferplus import load_votes, soft_targets
from training.core.trainer import TrainConfig, training_stream

HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def write_votes(path, rows: list[str]) -> str:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return str(path)


@pytest.fixture
def votes_csv(tmp_path):
    return write_votes(tmp_path / "fer2013new.csv", [
        "Training,fer0000000.png,4,0,0,0,6,0,0,0,0,0",  # angry 6, neutral 4
        "Training,fer0000001.png,0,10,0,0,0,0,0,0,0,0",  # happy
        "Training,,0,0,0,0,0,0,0,0,0,10",  # dropped by FER+: not a face
        "PublicTest,fer0000003.png,0,0,2,0,0,0,5,3,0,0",  # fear 5, surprise 2, contempt 3 (no class here)
    ])


def test_votes_are_read_in_fer2013_class_order(votes_csv):
    votes = load_votes(votes_csv)
    # angry, disgust, fear, happy, sad, surprise, neutral
    np.testing.assert_array_equal(votes, [[6, 0, 0, 0, 0, 0, 4], [0, 0, 0, 10, 0, 0, 0],
                                          [0, 0, 0, 0, 0, 0, 0], [0, 0, 5, 0, 0, 2, 0]])


def test_a_file_that_is_not_a_vote_file_names_the_problem(tmp_path):
    kaggle = tmp_path / "fer2013.csv"
    kaggle.write_text("emotion,pixels,Usage\n0,1 2 3,Training\n")
    with pytest.raises(DataFormatError, match=r"fer2013\.csv: not a FER\+ vote file: missing column\(s\) anger"):
        load_votes(kaggle)
    with pytest.raises(DataFormatError, match="line 2: votes must be numbers"):
        load_votes(write_votes(tmp_path / "bad.csv", ["Training,x.png,a,0,0,0,0,0,0,0,0,0"]))
    with pytest.raises(DataFormatError, match="no such file"):
        load_votes(tmp_path / "absent.csv")


def test_targets_mix_the_label_with_the_vote_shares(votes_csv):
    faces = FaceDataset(np.zeros((5, 48, 48), np.uint8), labels=np.array([0, 3, 6, 2, 4]),
                        source_rows=np.array([0, 1, 2, 3, -1]))
    targets = soft_targets(faces, load_votes(votes_csv), weight=0.3)
    expected = np.array([
        [0.7 + 0.3 * 0.6, 0, 0, 0, 0, 0, 0.3 * 0.4],  # angry face, votes 6 angry / 4 neutral
        [0, 0, 0, 1, 0, 0, 0],  # unanimous happy
        [0, 0, 0, 0, 0, 0, 1],  # no usable vote: the label alone
        [0, 0, 0.7 + 0.3 * 5 / 7, 0, 0, 0.3 * 2 / 7, 0],  # contempt's votes left out of the shares
        [0, 0, 0, 0, 1, 0, 0],  # row unknown: the label alone
    ])
    np.testing.assert_allclose(targets, expected, atol=1e-6)
    np.testing.assert_allclose(targets.sum(axis=1), 1, atol=1e-6)


def test_targets_need_rows_that_the_votes_cover(votes_csv):
    votes = load_votes(votes_csv)
    with pytest.raises(ValueError, match=r"no row numbers of fer2013\.csv"):
        soft_targets(FaceDataset(np.zeros((1, 48, 48), np.uint8), np.array([0])), votes, 0.3)
    with pytest.raises(ValueError, match=r"row 9 of fer2013\.csv has no FER\+ votes"):
        soft_targets(FaceDataset(np.zeros((1, 48, 48), np.uint8), np.array([0]), source_rows=np.array([9])),
                     votes, 0.3)
    with pytest.raises(ValueError, match=r"weight must lie in 0\.\.1"):
        soft_targets(FaceDataset(np.zeros((1, 48, 48), np.uint8), np.array([0]), source_rows=np.array([0])),
                     votes, 1.5)


def test_the_training_stream_carries_the_soft_targets(votes_csv):
    faces = FaceDataset(np.zeros((2, 48, 48), np.uint8), labels=np.array([0, 3]), source_rows=np.array([0, 1]))
    config = TrainConfig(data="", out="", batch_size=2, augment=False, soft_labels=votes_csv, soft_label_weight=0.5)
    _, targets = next(iter(training_stream(faces, config)))
    by_label = sorted(targets.numpy().tolist(), key=lambda row: -row[0])
    np.testing.assert_allclose(by_label, [[0.8, 0, 0, 0, 0, 0, 0.2], [0, 0, 0, 1, 0, 0, 0]], atol=1e-6)
    _, plain = next(iter(training_stream(faces, TrainConfig(data="", out="", batch_size=2, augment=False))))
    assert sorted(plain.numpy().max(axis=1).tolist()) == [1, 1]

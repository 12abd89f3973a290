import cv2
import numpy as np
import pytest

from tests.training.conftest import make_faces
from training.core.data import (
    EMOTIONS,
    DataFormatError,
    FaceDataset,
    load_dataset,
    load_image_folder,
    load_kaggle_csv,
    load_npz,
    train_overlap_mask,
    with_holdout_splits,
)


def test_npz_loader_reads_pixels_labels_and_splits(tiny_npz):
    data = load_npz(tiny_npz)
    assert data.pixels.shape == (112, 48, 48) and data.pixels.dtype == np.uint8
    assert len(data.split("Training")) == 70
    assert len(data.split("PublicTest")) == 21
    assert len(data.split("PrivateTest")) == 21
    assert data.class_counts() == [16] * 7


def test_npz_rows_of_fer2013_csv_follow_splits_subsets_and_holdouts(tmp_path):
    pixels, labels = make_faces(6)
    path = tmp_path / "rows.npz"
    np.savez(path, pixels=pixels, emotion=labels, usage=np.array([0, 0, 0, 0, 1, 2]),
             fer2013_row=np.array([10, -1, 12, 13, 14, 15], dtype=np.int32))
    data = load_npz(path)
    np.testing.assert_array_equal(data.split("Training").source_rows, [10, -1, 12, 13])
    np.testing.assert_array_equal(data.split("Training").subset(np.array([3, 0])).source_rows, [13, 10])
    np.testing.assert_array_equal(data.split("PrivateTest").source_rows, [15])
    assert load_npz(tmp_path / "rows.npz").source_rows.dtype == np.int64

    without_usage = tmp_path / "plain.npz"
    np.savez(without_usage, pixels=pixels, emotion=labels, fer2013_row=np.arange(6))
    filled, _ = with_holdout_splits(load_npz(without_usage), seed=1)
    np.testing.assert_array_equal(filled.source_rows, np.arange(6))

    np.savez(path, pixels=pixels, emotion=labels, fer2013_row=np.arange(5))
    with pytest.raises(DataFormatError, match="fer2013_row and emotion arrays differ in length"):
        load_npz(path)


def test_truncated_npz_names_file_and_problem(tiny_npz, tmp_path):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(tiny_npz.read_bytes()[:1000])
    with pytest.raises(DataFormatError, match=r"cut\.npz: not a readable \.npz file"):
        load_npz(cut)


def test_npz_without_usage_is_one_whole_set(tmp_path):
    pixels, labels = make_faces(10)
    np.savez(tmp_path / "other.npz", pixels=pixels, emotion=labels)
    data = load_npz(tmp_path / "other.npz")
    assert data.usage is None
    assert len(data.split("PrivateTest")) == 10


@pytest.mark.parametrize(
    ("arrays", "problem"),
    [
        ({"pixels": np.zeros((3, 48, 48), np.uint8)}, "missing array(s): emotion"),
        ({"pixels": np.zeros((3, 32, 32), np.uint8), "emotion": np.zeros(3, np.uint8)}, "shape (N, 48, 48)"),
        ({"pixels": np.zeros((3, 48, 48), np.uint8), "emotion": np.full(3, 9, np.uint8)}, "labels must lie in 0..6"),
        ({"pixels": np.zeros((3, 48, 48), np.float32), "emotion": np.zeros(3, np.uint8)}, "must be uint8"),
    ],
)
def test_malformed_npz_names_file_and_problem(tmp_path, arrays, problem):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFormatError) as error:
        load_npz(path)
    assert str(path) in str(error.value)
    assert problem in str(error.value)


def test_not_an_npz_at_all(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_text("hello")
    with pytest.raises(DataFormatError, match=r"junk\.npz: not a readable \.npz"):
        load_npz(path)


def write_kaggle_csv(path, pixels, labels, usages):
    lines = ["emotion,pixels,Usage"]
    for face, label, usage in zip(pixels, labels, usages, strict=True):
        lines.append(f"{label},{' '.join(map(str, face.ravel()))},{usage}")
    path.write_text("\n".join(lines) + "\n")


def test_kaggle_csv_loader(tmp_path):
    pixels, labels = make_faces(6)
    usages = ["Training", "Training", "PublicTest", "PublicTest", "PrivateTest", "PrivateTest"]
    write_kaggle_csv(tmp_path / "fer2013.csv", pixels, labels, usages)
    data = load_kaggle_csv(tmp_path / "fer2013.csv")
    np.testing.assert_array_equal(data.pixels, pixels)
    np.testing.assert_array_equal(data.labels, labels)
    assert len(data.split("PrivateTest")) == 2
    # Row i of Kaggle's file is row i of fer2013.csv, the key FER+ votes are joined on.
    np.testing.assert_array_equal(data.split("PublicTest").source_rows, [2, 3])


def test_kaggle_csv_with_short_pixel_row_names_the_line(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(DataFormatError, match=r"fer2013.csv: line 2: expected 2304 pixel values"):
        load_kaggle_csv(path)


def test_kaggle_csv_with_wrong_header(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("label,image\n3,1 2 3\n")
    with pytest.raises(DataFormatError, match="header must name the columns"):
        load_kaggle_csv(path)


def test_image_folder_loader_reads_splits_and_classes(tmp_path):
    pixels, labels = make_faces(14)
    for index, (face, label) in enumerate(zip(pixels, labels, strict=True)):
        split = "train" if index < 7 else "test"
        folder = tmp_path / split / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{index}.png"), face)
    data = load_image_folder(tmp_path)
    assert len(data) == 14
    assert sorted(data.split("Training").labels.tolist()) == list(range(7))
    assert len(data.split("PrivateTest")) == 7
    # PNG is lossless: pixels come back exactly.
    assert any(np.array_equal(face, pixels[0]) for face in data.pixels)


def test_image_folder_with_unknown_class_names_it(tmp_path):
    (tmp_path / "train" / "bored").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="bored: unknown emotion folder"):
        load_image_folder(tmp_path)


def test_image_folder_with_broken_image_names_it(tmp_path):
    folder = tmp_path / "happy"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataFormatError, match=r"broken\.jpg: not a readable image"):
        load_image_folder(tmp_path)


def test_load_dataset_picks_the_loader(tiny_npz, tmp_path):
    assert len(load_dataset(tiny_npz)) == 112
    with pytest.raises(DataFormatError, match="unknown format"):
        (tmp_path / "data.txt").write_text("x")
        load_dataset(tmp_path / "data.txt")
    with pytest.raises(DataFormatError, match="no such file"):
        load_dataset(tmp_path / "missing.npz")


def test_train_overlap_mask_marks_test_images_also_in_training(tmp_path):
    pixels, labels = make_faces(6)
    pixels[5] = pixels[0]  # a PrivateTest image that also occurs in Training
    usage = np.array([0, 0, 1, 1, 2, 2], np.uint8)
    np.savez(tmp_path / "d.npz", pixels=pixels, emotion=labels, usage=usage)
    data = load_npz(tmp_path / "d.npz")
    assert train_overlap_mask(data, "PrivateTest").tolist() == [False, True]


def test_missing_splits_are_held_out_of_training_per_class():
    labels = np.repeat(np.arange(7), 20)
    pixels = np.arange(140, dtype=np.uint8)[:, None, None] * np.ones((1, 48, 48), np.uint8)
    dataset, filled = with_holdout_splits(FaceDataset(pixels, labels), seed=3)
    assert filled == ["PublicTest", "PrivateTest"]
    for split in ("PublicTest", "PrivateTest"):
        assert dataset.split(split).class_counts() == [2] * 7
    assert dataset.split("Training").class_counts() == [16] * 7
    again, _ = with_holdout_splits(FaceDataset(pixels, labels), seed=3)
    np.testing.assert_array_equal(again.usage, dataset.usage)

    # A train/ + test/ folder: only the missing PublicTest is drawn, from Training rows.
    usage = np.where(np.arange(140) % 20 < 15, 0, 2)
    dataset, filled = with_holdout_splits(FaceDataset(pixels, labels, usage), seed=3)
    assert filled == ["PublicTest"]
    assert dataset.split("PrivateTest").class_counts() == [5] * 7
    assert dataset.split("PublicTest").class_counts() == [2] * 7  # round(15 * 0.1)
    assert not np.any((usage == 2) & (dataset.usage != 2))

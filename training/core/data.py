"""Loading labelled 48x48 face sets from the formats users have.

Three formats are read, all returning a `FaceDataset`:

* the shared `.npz` (`pixels`, `emotion`, optional `usage`),
* Kaggle's `fer2013.csv` (`emotion,pixels,Usage`),
* an image folder per class (`<root>/<split>/<emotion>/*.png|jpg`).

One class order everywhere: FER-2013's (0 angry ... 6 neutral), from `training.core.labels.EMOTIONS`.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.core.labels import EMOTIONS, SPLITS

IMAGE_SIZE = 48
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}

# The image-folder release names its test folder "test" and has no PublicTest/PrivateTest split.
FOLDER_SPLITS = {"train": "Training", "training": "Training", "val": "PublicTest",
                 "publictest": "PublicTest", "test": "PrivateTest", "privatetest": "PrivateTest"}


class DataFormatError(ValueError):
    """A data file is missing or malformed; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class FaceDataset:
    """Grayscale faces (N, 48, 48) uint8, labels (N,) in FER-2013 order, usage (N,) split index.

    `source_rows` (N,), where known, is each face's 0-based data row in the original
    `fer2013.csv` (-1 if unknown): the key that other annotations of FER-2013, such as FER+'s
    votes, are joined on.
    """

    pixels: np.ndarray
    labels: np.ndarray
    usage: np.ndarray | None = None
    source_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def split(self, name: str) -> FaceDataset:
        """Rows of one split; a set without `usage` is returned whole."""
        if self.usage is None:
            return self
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        return self.subset(np.flatnonzero(self.usage == SPLITS.index(name)))

    def subset(self, indices: np.ndarray) -> FaceDataset:
        usage = None if self.usage is None else self.usage[indices]
        source_rows = None if self.source_rows is None else self.source_rows[indices]
        return FaceDataset(self.pixels[indices], self.labels[indices], usage, source_rows)

    def class_counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=len(EMOTIONS)).astype(int).tolist()

    def one_hot_labels(self) -> np.ndarray:
        """The labels as (N, 7) float32 training targets: 1 for the face's class, 0 elsewhere."""
        return np.eye(len(EMOTIONS), dtype=np.float32)[self.labels]


def _check_shapes_and_labels(path: Path, pixels: np.ndarray, labels: np.ndarray) -> None:
    if pixels.ndim != 3 or pixels.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataFormatError(path, f"pixels must have shape (N, 48, 48), got {pixels.shape}")
    if labels.shape != (pixels.shape[0],):
        raise DataFormatError(path, f"{labels.shape[0] if labels.ndim else 0} labels for {pixels.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= len(EMOTIONS)):
        raise DataFormatError(path, f"labels must lie in 0..{len(EMOTIONS) - 1}, got {labels.min()}..{labels.max()}")


def load_npz(path: str | Path) -> FaceDataset:
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "no such file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataFormatError(path, f"not a readable .npz file ({exc})") from exc
    with archive:
        missing = {"pixels", "emotion"} - set(archive.files)
        if missing:
            raise DataFormatError(path, f"missing array(s): {', '.join(sorted(missing))}")
        pixels = archive["pixels"]
        labels = archive["emotion"].astype(np.int64)
        usage = archive["usage"].astype(np.int64) if "usage" in archive.files else None
        source_rows = archive["fer2013_row"].astype(np.int64) if "fer2013_row" in archive.files else None
    if pixels.dtype != np.uint8:
        raise DataFormatError(path, f"pixels must be uint8, got {pixels.dtype}")
    _check_shapes_and_labels(path, pixels, labels)
    if usage is not None and usage.shape != labels.shape:
        raise DataFormatError(path, "usage and emotion arrays differ in length")
    if source_rows is not None and source_rows.shape != labels.shape:
        raise DataFormatError(path, "fer2013_row and emotion arrays differ in length")
    return FaceDataset(pixels, labels, usage, source_rows)


def load_kaggle_csv(path: str | Path) -> FaceDataset:
    """Kaggle's `fer2013.csv`: columns emotion, pixels (2304 space-separated values), Usage."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "no such file")
    pixels: list[np.ndarray] = []
    labels: list[int] = []
    usage: list[int] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        if not {"emotion", "pixels"} <= columns:
            raise DataFormatError(path, "header must name the columns 'emotion' and 'pixels' (and optionally 'Usage')")
        for line_number, row in enumerate(reader, start=2):
            try:
                values = np.array(row["pixels"].split(), dtype=np.int64)
                label = int(row["emotion"])
            except (ValueError, AttributeError) as exc:
                raise DataFormatError(path, f"line {line_number}: not numbers ({exc})") from exc
            if values.size != IMAGE_SIZE * IMAGE_SIZE or values.min(initial=0) < 0 or values.max(initial=0) > 255:
                raise DataFormatError(
                    path, f"line {line_number}: expected 2304 pixel values in 0..255, got {values.size}"
                )
            pixels.append(values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE))
            labels.append(label)
            if "Usage" in columns:
                if row["Usage"] not in SPLITS:
                    raise DataFormatError(path, f"line {line_number}: unknown Usage {row['Usage']!r}")
                usage.append(SPLITS.index(row["Usage"]))
    if not labels:
        raise DataFormatError(path, "no data rows")
    # Row i of Kaggle's file is row i of fer2013.csv, the row FER+'s votes are keyed on.
    dataset = FaceDataset(np.stack(pixels), np.array(labels, dtype=np.int64),
                          np.array(usage, dtype=np.int64) if usage else None,
                          np.arange(len(labels), dtype=np.int64))
    _check_shapes_and_labels(path, dataset.pixels, dataset.labels)
    return dataset


def _read_gray_48(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DataFormatError(path, "not a readable image")
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    return image


def load_image_folder(root: str | Path) -> FaceDataset:
    """`<root>/<split>/<emotion>/*.jpg` (split: train/test/...) or `<root>/<emotion>/*.jpg`."""
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(root, "no such folder")
    split_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in FOLDER_SPLITS]
    groups = [(d, SPLITS.index(FOLDER_SPLITS[d.name.lower()])) for d in split_dirs] or [(root, None)]
    pixels: list[np.ndarray] = []
    labels: list[int] = []
    usage: list[int] = []
    for folder, split_index in groups:
        for class_dir in sorted(d for d in folder.iterdir() if d.is_dir()):
            name = class_dir.name.lower()
            if name not in EMOTIONS:
                raise DataFormatError(class_dir, f"unknown emotion folder; expected one of {', '.join(EMOTIONS)}")
            for image_path in sorted(class_dir.iterdir()):
                if image_path.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                pixels.append(_read_gray_48(image_path))
                labels.append(EMOTIONS.index(name))
                if split_index is not None:
                    usage.append(split_index)
    if not labels:
        raise DataFormatError(root, "no images found in emotion folders")
    return FaceDataset(np.stack(pixels), np.array(labels, dtype=np.int64),
                       np.array(usage, dtype=np.int64) if usage else None)


def load_dataset(path: str | Path) -> FaceDataset:
    """Pick the loader from what `path` is."""
    path = Path(path)
    if path.is_dir():
        return load_image_folder(path)
    if path.suffix.lower() == ".npz":
        return load_npz(path)
    if path.suffix.lower() == ".csv":
        return load_kaggle_csv(path)
    if not path.exists():
        raise DataFormatError(path, "no such file or folder")
    raise DataFormatError(path, "unknown format; expected a .npz, a Kaggle .csv or an image folder")


HOLDOUT_FRACTION = 0.1


def with_holdout_splits(dataset: FaceDataset, seed: int,
                        fraction: float = HOLDOUT_FRACTION) -> tuple[FaceDataset, list[str]]:
    """Fill in the splits a set lacks from its Training rows; returns the set and the splits filled.

    A CSV without `Usage`, a flat `<emotion>/` folder or a `train/` + `test/` folder still gets a
    PublicTest to choose epochs on and a PrivateTest to report on, neither of which the network
    trains on: `fraction` of each class's Training rows, drawn with `seed` so reruns agree.
    """
    usage = np.zeros(len(dataset), np.int64) if dataset.usage is None else dataset.usage.astype(np.int64)
    rng = np.random.default_rng(seed)
    filled = []
    for split in ("PublicTest", "PrivateTest"):
        index = SPLITS.index(split)
        if np.any(usage == index):
            continue
        for label in range(len(EMOTIONS)):
            rows = np.flatnonzero((usage == 0) & (dataset.labels == label))
            usage[rng.choice(rows, round(len(rows) * fraction), replace=False)] = index
        filled.append(split)
    return FaceDataset(dataset.pixels, dataset.labels, usage, dataset.source_rows), filled


def train_overlap_mask(dataset: FaceDataset, split: str) -> np.ndarray:
    """For the rows of `split`, True where a pixel-identical image occurs in Training."""
    if dataset.usage is None:
        return np.zeros(len(dataset), dtype=bool)
    training = dataset.split("Training").pixels.reshape(-1, IMAGE_SIZE * IMAGE_SIZE)
    seen = {row.tobytes() for row in training}
    rows = dataset.split(split).pixels.reshape(-1, IMAGE_SIZE * IMAGE_SIZE)
    return np.array([row.tobytes() in seen for row in rows], dtype=bool)

"""FER+ votes (Microsoft's `fer2013new.csv`) as soft training targets.

FER+ had ten annotators label every FER-2013 image again. Their votes say which faces are
ambiguous and between which emotions, something FER-2013's single label cannot. Training towards
`(1 - weight) * one-hot(FER-2013 label) + weight * vote shares` keeps the FER-2013 label the
most likely class for every `weight < 0.5` and spreads the rest where people disagreed, an
informed form of label smoothing.

FER+ orders its classes differently and adds `contempt`, `unknown` and `NF` (not a face); those
three have no FER-2013 class and are left out of the shares. A face with no usable vote, or whose
row in `fer2013.csv` is unknown, keeps its one-hot target.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from training.core.data import EMOTIONS, DataFormatError, FaceDataset

# FER+ column for each of our classes, in FER-2013 order.
FERPLUS_COLUMNS: dict[str, str] = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
    "sad": "sadness", "surprise": "surprise", "neutral": "neutral",
}


def load_votes(path: str | Path) -> np.ndarray:
    """Votes (rows of `fer2013new.csv`, 7) in FER-2013 class order, as float32."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "no such file")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(FERPLUS_COLUMNS.values()) - set(reader.fieldnames or ())
        if missing:
            raise DataFormatError(path, f"not a FER+ vote file: missing column(s) {', '.join(sorted(missing))}")
        votes = []
        for line_number, row in enumerate(reader, start=2):
            try:
                votes.append([float(row[FERPLUS_COLUMNS[emotion]] or 0) for emotion in EMOTIONS])
            except ValueError as exc:
                raise DataFormatError(path, f"line {line_number}: votes must be numbers ({exc})") from exc
    if not votes:
        raise DataFormatError(path, "no data rows")
    array = np.asarray(votes, dtype=np.float32)
    if array.min() < 0:
        raise DataFormatError(path, "votes must not be negative")
    return array


def soft_targets(data: FaceDataset, votes: np.ndarray, weight: float) -> np.ndarray:
    """Targets (N, 7): each face's one-hot label mixed with its FER+ vote shares."""
    if not 0 <= weight <= 1:
        raise ValueError(f"the vote weight must lie in 0..1, got {weight}")
    if data.source_rows is None:
        raise ValueError("these faces carry no row numbers of fer2013.csv, so FER+ votes cannot be joined "
                         "to them; use the shared .npz (fer2013_row) or Kaggle's full fer2013.csv")
    targets = data.one_hot_labels()
    rows = data.source_rows
    if np.any(rows >= len(votes)):
        raise ValueError(f"row {int(rows.max())} of fer2013.csv has no FER+ votes ({len(votes)} rows)")
    known = rows >= 0
    face_votes = np.zeros_like(targets)
    face_votes[known] = votes[rows[known]]
    totals = face_votes.sum(axis=1)
    voted = totals > 0
    shares = face_votes[voted] / totals[voted, None]
    targets[voted] = (1 - weight) * targets[voted] + weight * shares
    return targets

"""Every training option, defined once: name, type, default, bounds or choices, and help.

`TrainConfig` is the configuration of one training run. Each field made with `option()` carries
its bounds, help and where it is offered (on the command line; to a retrain job). `OPTIONS` reads
them back, and every surface derives from it: the command line (`cli.py`), the API serializer,
the admin's Retrain form and the job service's check, which therefore accept and refuse the same
values (tests/training/test_options.py checks each bound on each surface). Plain Python: the web
process reads it without importing Keras.
"""

from __future__ import annotations

import math
import shlex
import sys
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from training.core.labels import SPLITS

# The networks training.core.architectures builds (a test checks the two agree), named here so
# that the web process need not import Keras to offer them.
ARCHITECTURES: tuple[str, ...] = ("tiny", "seed", "fernet", "fernet_deep")
OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "sgd")
SCHEDULES: tuple[str, ...] = ("plateau", "cosine", "constant")
# Keras dtype policies: mixed_bfloat16 computes in bfloat16 and keeps the weights in float32.
PRECISIONS: tuple[str, ...] = ("float32", "mixed_bfloat16")
MAX_EPOCHS = 500
MAX_SEED = 2**31 - 1


class OptionError(ValueError):
    """A value an option refuses; the message starts with the option's name."""

    def __init__(self, name: str, problem: str) -> None:
        self.name, self.problem = name, problem
        super().__init__(f"{name}: {problem}")


def option(default: Any, help: str, *, minimum: float | None = None, maximum: float | None = None,
           choices: tuple[str, ...] = (), flag: str = "", metavar: str | None = None,
           cli: bool = True, job: bool = False) -> Any:
    """A `TrainConfig` field that is a training option. `flag`: its command-line flag when not
    `--name-with-dashes` (a flag that turns a true default off: `--no-...`); `cli`: offered on the
    command line; `job`: a retrain job (API, admin) may set it. Bounds are inclusive."""
    bounds = {"help": help, "minimum": minimum, "maximum": maximum, "choices": choices, "flag": flag,
              "metavar": metavar, "cli": cli, "job": job}
    return field(default=default, metadata={"option": bounds})


@dataclass
class TrainConfig:
    data: str
    out: str
    architecture: str = option("fernet", "the network to train", choices=ARCHITECTURES, job=True)
    epochs: int = option(60, "epochs to train at most", minimum=1, maximum=MAX_EPOCHS, job=True)
    batch_size: int = option(64, "images per training step", minimum=1, maximum=4096, job=True)
    optimizer: str = option("adam", "the optimizer", choices=OPTIMIZERS, job=True)
    learning_rate: float = option(1e-3, "the (initial) learning rate; fine-tuning wants a lower one, e.g. 0.0002",
                                  minimum=1e-7, maximum=1.0, job=True)
    weight_decay: float = option(1e-4, "used by adamw", minimum=0.0, maximum=1.0)
    label_smoothing: float = option(0.0, "share of each target spread over all classes",
                                    minimum=0.0, maximum=1.0, job=True)
    # "plateau" halves the rate when validation accuracy stalls; "cosine" anneals it to
    # min_learning_rate over exactly `epochs` epochs (after `warmup_epochs` linear warm-up),
    # which suits a run whose length is fixed by the time available; "constant" keeps it (after
    # the warm-up), as weight averaging wants.
    schedule: str = option("plateau", "plateau: halve the rate when validation stalls; cosine: anneal it over "
                           "the epochs; constant: keep the rate (for fine-tuning)", choices=SCHEDULES, job=True)
    warmup_epochs: int = option(0, "linear warm-up epochs before the cosine or constant schedule",
                                minimum=0, maximum=MAX_EPOCHS, job=True)
    plateau_patience: int = option(3, "epochs without validation gain before the learning rate halves",
                                   minimum=1, maximum=MAX_EPOCHS, job=True)
    plateau_factor: float = option(0.5, "the plateau schedule's learning-rate factor", minimum=0.01, maximum=1.0,
                                   cli=False)
    min_learning_rate: float = option(1e-5, "the floor of the plateau and cosine schedules",
                                      minimum=0.0, maximum=1.0, cli=False)
    early_stopping_patience: int = option(10, "epochs without validation gain before training stops",
                                          minimum=1, job=True)
    class_weights: bool = option(False, "weight classes inversely to their frequency", job=True)
    augment: bool = option(True, "random flips, shifts, rotations and zooms of the training faces", job=True)
    # Mixup: each training face (and its target) is blended with another face of its batch, by a
    # share drawn from Beta(alpha, alpha); the face keeps the larger share (see augment.py).
    mixup_alpha: float = option(0.0, "mixup: blend each training face and its target with another face of its batch "
                                "by a Beta(alpha, alpha) share, e.g. 0.2 (0 is off)", minimum=0.0, maximum=10.0,
                                job=True)
    jit_compile: bool = option(True, "XLA compilation (--no-jit disables it)", flag="--no-jit", job=True)
    # Measured with `manage.py bench_training` (docs/benchmarks.md): on a CPU with AVX-512 BF16,
    # --no-jit with mixed_bfloat16 trains about twice as fast as the defaults.
    precision: str = option("float32", "compute precision; mixed_bfloat16 computes in bfloat16 with float32 "
                            "weights (fast on CPUs with AVX-512 BF16; the saved network is float32)",
                            choices=PRECISIONS, job=True)
    seed: int = option(1, "seeds the weights, the shuffle order and the augmentation", minimum=0, maximum=MAX_SEED,
                       job=True)
    train_split: str = option("Training", "the split trained on", choices=SPLITS, cli=False)
    val_split: str = option("PublicTest", "the split that chooses the best epoch", choices=SPLITS, cli=False)
    test_split: str = option("PrivateTest", "the split evaluated at the end", choices=SPLITS, cli=False)
    limit: int | None = option(None, "train on at most this many images (smoke runs)", minimum=1, job=True)
    # Fine-tuning: start from the weights of a trained network (an artifact directory; for an
    # ensemble directory, its `init_member`-th network, counting from 1) instead of fresh ones.
    init_from: str | None = option(None, "fine-tune: start from this trained network's weights (its architecture "
                                   "is used)", metavar="MODEL_DIR")
    init_member: int = option(1, "fine-tuning an ensemble: which of its networks (from 1)", minimum=1, job=True)
    # Stochastic weight averaging: the weights after every epoch past `swa_start` are averaged,
    # and the average competes with the best epoch on the validation split.
    swa_start: int | None = option(None, "average the weights of every epoch after this one (0: all); the "
                                   "average, with batch-norm statistics recomputed, is kept if it beats the best "
                                   "epoch", minimum=0, maximum=MAX_EPOCHS, metavar="EPOCH", job=True)
    # Soft targets: FER+'s vote file; each Training face's target becomes its one-hot label mixed
    # with its FER+ vote shares at `soft_label_weight` (see ferplus.py).
    soft_labels: str | None = option(None, "FER+ votes (fer2013new.csv): train towards the label mixed with the "
                                     "vote shares", metavar="FERPLUS_CSV")
    soft_label_weight: float = option(0.3, "the FER+ vote shares' part of each target (below 0.5 the label "
                                      "stays the most likely class; a job: 0 is off)",
                                      minimum=0.0, maximum=1.0, job=True)
    # Distillation: each Training face's target mixed with a trained model's probabilities for it
    # (see distill.py); server paths, so offered on the command line only.
    teacher: str | None = option(None, "distil: train towards the targets mixed with this model's probabilities "
                                 "(a model directory with a LiteRT export, e.g. models/shipped)",
                                 metavar="MODEL_DIR")
    teacher_weight: float = option(0.5, "the teacher's part of each target (with --teacher; above 0.5 the "
                                   "teacher may outvote the label)", minimum=0.0, maximum=1.0)
    command: str = field(default_factory=lambda: shlex.join(sys.argv))


@dataclass(frozen=True)
class OptionSpec:
    """One option of `TrainConfig`, as every surface that offers it needs it."""

    name: str
    kind: type  # bool, int, float or str
    nullable: bool  # None is a value (off, or everything)
    default: Any
    help: str
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]
    flag: str
    metavar: str | None
    cli: bool
    job: bool

    def check(self, value: Any) -> Any:
        """`value` as this option's type, or OptionError when the option refuses it."""
        if value is None:
            if self.nullable:
                return None
            raise OptionError(self.name, "a value is required")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise OptionError(self.name, "expected true or false")
            return value
        if isinstance(value, bool):
            raise OptionError(self.name, f"expected {'an integer' if self.kind is int else 'a number'}")
        return self._within_bounds(self._converted(value))

    def _converted(self, value: Any) -> Any:
        if self.kind is str:
            return str(value)
        try:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            if self.kind is int:
                if number != int(number):
                    raise ValueError(value)
                return int(value) if isinstance(value, int) else int(number)
            return number
        except (TypeError, ValueError):
            raise OptionError(self.name, f"expected {'an integer' if self.kind is int else 'a number'}") from None

    def _within_bounds(self, value: Any) -> Any:
        if self.choices and value not in self.choices:
            raise OptionError(self.name, f"choose one of {', '.join(self.choices)}")
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                raise OptionError(self.name, f"between {_number(low)} and {_number(high)}")
            raise OptionError(self.name, f"at least {_number(low)}" if low is not None else f"at most {_number(high)}")
        return value


def _number(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def _spec(config_field, kind: Any) -> OptionSpec:
    arguments = typing.get_args(kind)
    nullable = type(None) in arguments
    if nullable:
        kind = next(argument for argument in arguments if argument is not type(None))
    default = config_field.default if config_field.default is not MISSING else None
    return OptionSpec(name=config_field.name, kind=kind, nullable=nullable, default=default,
                      **config_field.metadata["option"])


def _specs() -> dict[str, OptionSpec]:
    kinds = typing.get_type_hints(TrainConfig)
    return {config_field.name: _spec(config_field, kinds[config_field.name]) for config_field in fields(TrainConfig)
            if "option" in config_field.metadata}


OPTIONS: dict[str, OptionSpec] = _specs()
# What a retrain job may set (the API and the admin offer these, the job service checks them).
JOB_OPTIONS: dict[str, OptionSpec] = {name: spec for name, spec in OPTIONS.items() if spec.job}
CLI_OPTIONS: dict[str, OptionSpec] = {name: spec for name, spec in OPTIONS.items() if spec.cli}


def cli_flag(spec: OptionSpec) -> str:
    """`--epochs`, `--batch-size`; a true boolean turned off: `--no-augment` (or the spec's own flag)."""
    if spec.flag:
        return spec.flag
    dashed = spec.name.replace("_", "-")
    return f"--no-{dashed}" if spec.kind is bool and spec.default else f"--{dashed}"


def check_config(config: TrainConfig) -> None:
    """Refuse a configuration with a value an option refuses (OptionError)."""
    for name, spec in OPTIONS.items():
        spec.check(getattr(config, name))

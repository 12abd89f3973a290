"""Command-line arguments for training, shared by `manage.py train` and `python -m training.core.cli`."""

from __future__ import annotations

import argparse

from training.core.architectures import ARCHITECTURES
from training.core.trainer import OPTIMIZERS, SCHEDULES, TrainConfig

DEFAULT_DATA = "../shared/data/fer2013/fer2013.npz"


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig(data="", out="")
    parser.add_argument("--data", default=DEFAULT_DATA, help="a .npz, a Kaggle fer2013.csv or an image folder")
    parser.add_argument("--out", required=True, help="artifact directory (created)")
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default=defaults.architecture)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help="used by adamw")
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    parser.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule,
                        help="plateau: halve the rate when validation stalls; cosine: anneal over --epochs; "
                             "constant: keep --learning-rate")
    parser.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs,
                        help="linear warm-up epochs before the cosine or constant schedule")
    parser.add_argument("--plateau-patience", type=int, default=defaults.plateau_patience,
                        help="epochs without validation gain before the learning rate halves")
    parser.add_argument("--early-stopping-patience", type=int, default=defaults.early_stopping_patience)
    parser.add_argument("--class-weights", action="store_true", help="weight classes inversely to their frequency")
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--no-jit", action="store_true", help="disable XLA compilation")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--limit", type=int, default=None, help="use only N training rows (smoke runs)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--init-from", metavar="MODEL_DIR", default=None,
                        help="fine-tune: start from this trained network's weights (its architecture is used)")
    parser.add_argument("--init-member", type=int, default=defaults.init_member,
                        help="with --init-from an ensemble directory: which of its networks (from 1)")
    parser.add_argument("--swa-start", type=int, default=None, metavar="EPOCH",
                        help="average the weights of every epoch after EPOCH (0: all); the average, with "
                             "batch-norm statistics recomputed, is kept if it beats the best epoch")
    parser.add_argument("--soft-labels", metavar="FERPLUS_CSV", default=None,
                        help="FER+ votes (fer2013new.csv): train towards the label mixed with the vote shares")
    parser.add_argument("--soft-label-weight", type=float, default=defaults.soft_label_weight,
                        help="with --soft-labels: the vote shares' part of each target (below 0.5 keeps the "
                             "label the most likely class)")


def config_from_arguments(options: dict) -> TrainConfig:
    return TrainConfig(
        data=options["data"],
        out=options["out"],
        architecture=options["architecture"],
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        optimizer=options["optimizer"],
        learning_rate=options["learning_rate"],
        weight_decay=options["weight_decay"],
        label_smoothing=options["label_smoothing"],
        schedule=options["schedule"],
        warmup_epochs=options["warmup_epochs"],
        plateau_patience=options["plateau_patience"],
        early_stopping_patience=options["early_stopping_patience"],
        class_weights=options["class_weights"],
        augment=not options["no_augment"],
        jit_compile=not options["no_jit"],
        seed=options["seed"],
        limit=options["limit"],
        init_from=options["init_from"],
        init_member=options["init_member"],
        swa_start=options["swa_start"],
        soft_labels=options["soft_labels"],
        soft_label_weight=options["soft_label_weight"],
    )


def main(argv: list[str] | None = None) -> None:
    from training.core.trainer import train

    parser = argparse.ArgumentParser(description="Train an emotion classifier.")
    add_train_arguments(parser)
    options = vars(parser.parse_args(argv))
    result = train(config_from_arguments(options), resume=options["resume"], verbose=2)
    if result.metrics:
        print(f"{result.metrics['split']} accuracy {result.metrics['accuracy']:.4f} (n={result.metrics['n']})")


if __name__ == "__main__":
    main()

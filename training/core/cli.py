"""Command-line arguments for training, shared by `manage.py train` and `python -m training.core.cli`.

Every option's flag, type, default, bounds and help come from `training.core.options`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from training.core.options import CLI_OPTIONS, OptionError, OptionSpec, TrainConfig, cli_flag

DEFAULT_DATA = "../shared/data/fer2013/fer2013.npz"

logger = logging.getLogger(__name__)


def _argument_type(spec: OptionSpec) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return spec.check(text)
        except OptionError as error:
            raise argparse.ArgumentTypeError(error.problem) from None

    parse.__name__ = spec.kind.__name__  # argparse names the type in its messages
    return parse


def add_option_argument(parser: argparse.ArgumentParser, spec: OptionSpec) -> None:
    """The argument of one option: a flag for a boolean, a checked value otherwise."""
    if spec.kind is bool:
        parser.add_argument(cli_flag(spec), dest=spec.name, action="store_false" if spec.default else "store_true",
                            help=f"off: {spec.help}" if spec.default else spec.help)
        return
    parser.add_argument(cli_flag(spec), dest=spec.name, type=_argument_type(spec), default=spec.default,
                        choices=spec.choices or None, metavar=spec.metavar, help=spec.help)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=DEFAULT_DATA, help="a .npz, a Kaggle fer2013.csv or an image folder")
    parser.add_argument("--out", required=True, help="artifact directory (created)")
    for spec in CLI_OPTIONS.values():
        add_option_argument(parser, spec)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")


def config_from_arguments(arguments: dict[str, Any]) -> TrainConfig:
    """The run's configuration from parsed arguments (argparse's namespace as a dict)."""
    return TrainConfig(data=arguments["data"], out=arguments["out"],
                       **{name: arguments[name] for name in CLI_OPTIONS})


def main(argv: list[str] | None = None) -> None:
    from training.core.trainer import train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description="Train an emotion classifier.")
    add_train_arguments(parser)
    arguments = vars(parser.parse_args(argv))
    result = train(config_from_arguments(arguments), resume=arguments["resume"], verbose=2)
    if result.metrics:
        logger.info("%s accuracy %.4f (n=%d)", result.metrics["split"], result.metrics["accuracy"], result.metrics["n"])


if __name__ == "__main__":
    main()

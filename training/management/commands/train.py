from django.core.management.base import BaseCommand, CommandError

from training.core.cli import add_train_arguments, config_from_arguments
from training.core.data import DataFormatError
from training.core.trainer import train


class Command(BaseCommand):
    help = "Train an emotion classifier and write one artifact directory (model, TFLite, history, metrics)."

    def add_arguments(self, parser):
        add_train_arguments(parser)

    def handle(self, *args, **options):
        try:
            result = train(config_from_arguments(options), resume=options["resume"],
                           verbose=1 if options["verbosity"] >= 1 else 0)
        except (DataFormatError, FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if result.metrics:
            self.stdout.write(self.style.SUCCESS(
                f"{result.out}: {result.metrics['split']} accuracy {result.metrics['accuracy']:.4f} "
                f"(n={result.metrics['n']})"))

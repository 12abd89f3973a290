from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training: model versions and jobs"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from training.services.registry import register_shipped_model_after_migrate

        post_migrate.connect(register_shipped_model_after_migrate, sender=self,
                             dispatch_uid="training.register_shipped_model")

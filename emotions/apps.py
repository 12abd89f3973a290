from django.apps import AppConfig


class EmotionsConfig(AppConfig):
    name = "emotions"
    verbose_name = "Emotions: live sessions and detections"

    def ready(self) -> None:
        from emotions import signals  # noqa: F401  (connects the model_activated receiver)

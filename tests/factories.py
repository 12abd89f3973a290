"""Factories for users, sessions and detections."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from emotions.models import CaptureSession, Detection

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CaptureSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaptureSession

    user = factory.SubFactory(UserFactory)
    started_at = factory.LazyFunction(timezone.now)
    model_label = "test-model"


class DetectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Detection

    session = factory.SubFactory(CaptureSessionFactory)
    offset_ms = factory.Sequence(lambda n: n * 100)
    frame_index = factory.Sequence(lambda n: n)
    face_index = 0
    x, y, width, height = 10, 20, 100, 100
    emotion = "happy"
    angry, disgust, fear, happy, sad, surprise, neutral = 0.05, 0.01, 0.04, 0.7, 0.05, 0.05, 0.1


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A registered version; pass `artifact_dir` of a real model to activate or evaluate it."""

    class Meta:
        model = "training.ModelVersion"

    name = factory.Sequence(lambda n: f"version-{n}")
    architecture = "tiny"
    artifact_dir = factory.Sequence(lambda n: f"/nonexistent/version-{n}")
    dataset = "/data/tiny.npz"
    split = "PrivateTest"
    training_config = factory.LazyAttribute(lambda v: {"architecture": v.architecture, "epochs": 1, "seed": 1})
    metrics = factory.LazyFunction(lambda: {
        "accuracy": 0.5, "macro_f1": 0.4, "n": 2, "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise",
                                                            "neutral"],
        "per_class": {name: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1}
                      for name in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")},
        "confusion_matrix": [[1 if row == col else 0 for col in range(7)] for row in range(7)],
    })
    is_active = False


class TrainingJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "training.TrainingJob"

    name = factory.Sequence(lambda n: f"job-{n}")
    kind = "retrain"
    parameters = factory.LazyFunction(lambda: {"architecture": "tiny", "epochs": 1, "data": "/data/tiny.npz"})
    total_epochs = 1
    dispatch = 1


def grant(user, *permissions: str):
    """Give `user` the Django permissions named "app_label.codename" (and forget its cached ones)."""
    from django.contrib.auth.models import Permission

    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return user

from rest_framework.routers import SimpleRouter

from training.api import views

router = SimpleRouter()
router.register("models", views.ModelVersionViewSet, basename="api-model")
router.register("jobs", views.TrainingJobViewSet, basename="api-job")

urlpatterns = router.urls

from rest_framework.routers import DefaultRouter

from audiences import views

app_name = "audiences"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("audiences", views.AudienceViewSet, basename="audience")
router.register("needs", views.NeedViewSet, basename="need")
router.register("surveys", views.SurveyViewSet, basename="survey")

urlpatterns = router.urls

from rest_framework.routers import DefaultRouter

app_name = "audiences"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = router.urls

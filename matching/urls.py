from django.urls import path
from rest_framework.routers import DefaultRouter

from matching import views

app_name = "matching"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = router.urls

urlpatterns += [
    path("matching/runs/<uuid:run_id>/report/", views.ReportView.as_view(), name="run-report"),
    path("matching/runs/<uuid:run_id>/compare/", views.CompareView.as_view(), name="run-compare"),
    path("matching/runs/<uuid:run_id>/ipa/", views.IpaView.as_view(), name="run-ipa"),
]

from django.urls import path
from rest_framework.routers import DefaultRouter

from matching import views

app_name = "matching"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("matching/runs", views.MatchingRunViewSet, basename="run")
router.register(r"matching/runs/(?P<run_id>[0-9a-f-]+)/needs", views.NeedResultViewSet, basename="run-need")

urlpatterns = [
    path("matching/search/", views.MatchingSearchView.as_view(), name="search"),
    path("matching/runs/<uuid:run_id>/report/", views.ReportView.as_view(), name="run-report"),
    path("matching/runs/<uuid:run_id>/compare/", views.CompareView.as_view(), name="run-compare"),
    path("matching/runs/<uuid:run_id>/ipa/", views.IpaView.as_view(), name="run-ipa"),
    path("matching/runs/<uuid:run_id>/map/", views.MapView.as_view(), name="run-map"),
    *router.urls,
]

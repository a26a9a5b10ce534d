from django.urls import path
from rest_framework.routers import DefaultRouter

from offers import views

app_name = "offers"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("territories", views.TerritoryViewSet, basename="territory")
router.register("offers", views.OfferViewSet, basename="offer")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("sources", views.SourceViewSet, basename="source")
router.register("source-syncs", views.SourceSyncViewSet, basename="source-sync")

urlpatterns = [
    path("taxonomy/", views.TaxonomyView.as_view(), name="taxonomy"),
    path("me/", views.AccountView.as_view(), name="account"),
    *router.urls,
]

"""Roles and the permission classes built on them.

Roles: anonymous (reads public reference data and published offers), editor (writes the offers of the
organisations they belong to), analyst (reads audiences, needs and gap reports, launches matching runs),
admin (everything; staff users). Analysts are members of the "analysts" group.

Which needs, surveys and runs an analyst sees (their territories) is not a permission but a queryset:
`offers.selectors.analyst_scope` and the visibility functions built on it, so that another territory's object is a
404 like another organisation's draft, never a 403 that confirms it exists.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

ANALYSTS_GROUP = "analysts"
EDITORS_GROUP = "editors"


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.is_staff))


def is_analyst(user) -> bool:
    """Analysts and admins; memoised on the user object because permission checks run several times a request."""
    if not (user and user.is_authenticated):
        return False
    if is_admin(user):
        return True
    cached = getattr(user, "_ancrage_is_analyst", None)
    if cached is None:
        cached = user.groups.filter(name=ANALYSTS_GROUP).exists()
        user._ancrage_is_analyst = cached
    return cached


class IsAnalyst(BasePermission):
    """Strategy material (needs, surveys, gap reports) is for analysts and admins only."""

    message = _("This resource is reserved to analysts: your account does not have the analyst role.")

    def has_permission(self, request, view) -> bool:
        return is_analyst(request.user)


class IsAdminOrReadOnly(BasePermission):
    """Reference data: everyone reads, admins write."""

    message = _("Only administrators can change reference data.")

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or is_admin(request.user)

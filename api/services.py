"""Writes of the cross-cutting layer: the demo accounts, one per role."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from api.permissions import ANALYSTS_GROUP, EDITORS_GROUP

DEMO_PASSWORD = "ancrage-demo"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    token: str


DEMO_USERS = (
    ("admin", "admin"),
    ("analyste", "analyst"),
    ("editeur", "editor"),
)


@transaction.atomic
def demo_users_ensure() -> list[DemoAccount]:
    """Create (or reset) the demo accounts; tokens are stable across runs so README examples keep working."""
    user_model = get_user_model()
    analysts, _ = Group.objects.get_or_create(name=ANALYSTS_GROUP)
    editors, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    accounts = []
    for username, role in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@ancrage.example"}
        )
        user.is_staff = user.is_superuser = role == "admin"
        user.set_password(DEMO_PASSWORD)
        user.save()
        if role == "analyst":
            user.groups.add(analysts)
        if role == "editor":
            user.groups.add(editors)
        key = f"demo-{role}-token-0000000000000000000000"[:40]
        Token.objects.filter(user=user).exclude(key=key).delete()
        Token.objects.get_or_create(user=user, defaults={"key": key})
        accounts.append(DemoAccount(username=username, role=role, token=key))
    return accounts

"""Choice sets shared by several apps (api/ is the one app every other may import)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskStatus(models.TextChoices):
    """Where a background task stands: a matching run (matching.RunStatus), a source sync (offers.SyncStatus). One
    set, so the API names one enum (TaskStatusEnum) and both read alike."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")

"""Matching runs, the chunks of needs they are split into, and the stored per-need results with their best offers.

Results keep a snapshot of what they describe (need statement, codes, offer title) so that a report stays readable
and auditable after the catalogue or the needs change.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from api.choices import TaskStatus
from audiences.models import JourneyStage, Need
from offers.models import Offer, Territory

RunStatus = TaskStatus  # a matching run is a background task like a source sync


class Recommendation(models.TextChoices):
    CREATE = "create", _("Create an offer")
    ADJUST = "adjust", _("Adjust the existing offer")
    PROMOTE = "promote", _("Make the offer known")
    MAINTAIN = "maintain", _("Maintain")


class IpaQuadrant(models.TextChoices):
    CONCENTRATE_HERE = "concentrate-here", _("Concentrate here")
    KEEP_UP = "keep-up-the-good-work", _("Keep up the good work")
    LOW_PRIORITY = "low-priority", _("Low priority")
    POSSIBLE_OVERKILL = "possible-overkill", _("Possible overkill")
    NONE = "", _("Unclassified")


class MatchingRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    # Scope: which needs are scored (offers are always the whole published catalogue).
    scope_territory = models.ForeignKey(
        Territory, null=True, blank=True, on_delete=models.PROTECT, related_name="matching_runs"
    )
    scope_audiences = models.JSONField(default=list, blank=True, help_text="Audience codes; empty = all.")
    scope_domains = models.JSONField(default=list, blank=True, help_text="Domain codes; empty = all.")
    parameters = models.JSONField(default=dict, help_text="Every weight and threshold used, defaults filled in.")
    reference_date = models.DateField(help_text="Date at which availability is judged.")
    algorithm_version = models.CharField(max_length=32)
    chunk_size = models.PositiveIntegerField(default=500)
    needs_total = models.PositiveIntegerField(default=0)
    needs_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    snapshot = models.JSONField(
        default=dict, blank=True, help_text="What the run read: counts and latest update times of offers and needs."
    )
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds spent per phase.")
    # The catalogue is never frozen for a run: each chunk scores the latest state at its claim and records it, so
    # edits during a run never fail it. These say which states its results used.
    catalogue_state = models.BigIntegerField(
        null=True, blank=True, help_text="CatalogueVersion.version when the run started."
    )
    scored_states = models.JSONField(
        default=list,
        blank=True,
        help_text='Catalogue states its written chunks scored against: [{"state", "version", "chunks"}], by state.',
    )
    error = models.TextField(blank=True, help_text="Why the run failed.")
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="matching_runs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")

    def __str__(self) -> str:
        return f"Run {self.id} ({self.get_status_display()})"

    @property
    def catalogue_states(self) -> dict:
        """Which catalogue states the results used: at the start, and the first, last and each of its chunks'."""
        used = list(self.scored_states or ())
        states = [entry["state"] for entry in used if entry["state"] is not None]
        return {
            "at_start": self.catalogue_state,
            "first": min(states) if states else None,
            "last": max(states) if states else None,
            "used": used,
        }


ChunkStatus = TaskStatus  # a run's chunk is a background task too: the same four states


class MatchingChunk(models.Model):
    """A slice of a run's needs, scored by one task; its results are written in one transaction.

    A worker that dies leaves the chunk `running` with an expired lease; the run's watchdog re-enqueues it
    (a new `attempt`) until `max_attempts`, then fails the run with the reason.
    """

    run = models.ForeignKey(MatchingRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    need_ids = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.QUEUED)
    attempt = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=128, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    # The offer index the latest attempt scored against (a re-scored chunk records its own).
    index_version = models.CharField(max_length=255, blank=True, help_text="OfferIndex.version of the attempt.")
    index_state = models.BigIntegerField(
        null=True, blank=True, help_text="Catalogue state (CatalogueVersion.version) the attempt's index reflects."
    )

    class Meta:
        ordering = ["run", "index"]
        verbose_name = _("matching chunk")
        verbose_name_plural = _("matching chunks")
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="matching_chunk_run_index_unique")]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="matching_chunk_lease_idx")]


# The fields of a result that keep the need as scored (the API lists them, the reports group by them).
NEED_SNAPSHOT_FIELDS = (
    "statement",
    "audience_code",
    "domain_code",
    "theme_codes",
    "territory_path",
    "epci_code",
    "commune_code",
    "importance",
    "satisfaction",
    "demand_volume",
    "stage",
)


class NeedResult(models.Model):
    """The score of one need in one run: coverage, gap, recommendation with its reasons, IPA quadrant."""

    run = models.ForeignKey(MatchingRun, on_delete=models.CASCADE, related_name="results")
    need = models.ForeignKey(Need, null=True, on_delete=models.SET_NULL, related_name="matching_results")
    # Snapshot of the need as scored.
    statement = models.TextField()
    audience_code = models.CharField(max_length=48, db_index=True)
    domain_code = models.CharField(max_length=32, db_index=True)
    theme_codes = models.JSONField(default=list)
    territory_path = models.CharField(max_length=80, blank=True, db_index=True)
    epci_code = models.CharField(max_length=9, blank=True)
    commune_code = models.CharField(max_length=5, blank=True)
    importance = models.FloatField()
    satisfaction = models.FloatField(null=True, blank=True)
    demand_volume = models.PositiveIntegerField(null=True, blank=True)
    # Where the need sits in the newcomer's journey (attract, welcome, anchor); "" for results stored before it was
    # kept whose need is gone.
    stage = models.CharField(max_length=16, choices=JourneyStage.choices, blank=True)
    # Scores.
    coverage = models.FloatField()
    gap = models.FloatField(db_index=True)
    best_relevance = models.FloatField(default=0.0)
    recommendation = models.CharField(max_length=16, choices=Recommendation.choices, db_index=True)
    reasons = models.JSONField(
        default=list, help_text="Machine-readable reasons: codes and the parameters of their sentences."
    )
    ipa_quadrant = models.CharField(max_length=32, choices=IpaQuadrant.choices, blank=True, db_index=True)
    ipa_gap = models.FloatField(null=True, blank=True, help_text="Importance minus satisfaction (diagonal IPA).")

    class Meta:
        ordering = ["-gap", "id"]
        verbose_name = _("need result")
        verbose_name_plural = _("need results")
        constraints = [models.UniqueConstraint(fields=["run", "need"], name="need_result_run_need_unique")]


class MatchedOffer(models.Model):
    """One of the best offers for a need in a run, with the breakdown of its score."""

    result = models.ForeignKey(NeedResult, on_delete=models.CASCADE, related_name="matched_offers")
    offer = models.ForeignKey(Offer, null=True, on_delete=models.SET_NULL, related_name="+")
    offer_title = models.CharField(max_length=200)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField(help_text="Fit of the offer to the need, in [0, 1].")
    relevance = models.FloatField()
    text = models.FloatField()
    theme = models.FloatField()
    audience = models.FloatField()
    geography = models.FloatField()
    availability = models.FloatField()
    capacity = models.FloatField()
    distance_km = models.FloatField(null=True, blank=True)
    matched_words = models.JSONField(
        default=list, blank=True, help_text="Words of the need's statement, as written, found in the offer's text."
    )

    class Meta:
        ordering = ["result", "rank"]
        verbose_name = _("matched offer")
        verbose_name_plural = _("matched offers")
        constraints = [models.UniqueConstraint(fields=["result", "rank"], name="matched_offer_result_rank_unique")]


class OfferIndexBuild(models.Model):
    """A full build of the offer index, stored as files in MATCHING_INDEX_DIR on `host`: the catalogue state and text
    model it holds. Processes load the latest build of their host and model key and apply the changes since; a
    stored build without its row (another database, a rolled-back test) is never loaded."""

    label = models.CharField(max_length=100, unique=True)
    model_key = models.CharField(max_length=32)
    host = models.CharField(max_length=255)
    state = models.BigIntegerField(help_text="CatalogueVersion.version the build read.")
    offers = models.PositiveIntegerField()
    nnz = models.BigIntegerField()
    build_seconds = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("offer index build")
        verbose_name_plural = _("offer index builds")
        indexes = [models.Index(fields=["model_key", "host", "-id"], name="offer_index_build_latest")]

    def __str__(self) -> str:
        return f"offer index {self.label} (state {self.state})"


class OfferEmbedding(models.Model):
    """An offer's semantic vector (`matching.semantic`), computed once per text in the background
    (`offer_embeddings_task`) and read by the live index. `text_hash` is the hash of the passage it encodes: an
    offer whose title or description changed has a stale vector, recomputed; an unchanged text is never re-encoded.
    `seq` is the `OfferEmbeddingVersion` of the write, so the index reads only the vectors stored since it looked."""

    offer = models.OneToOneField(Offer, on_delete=models.CASCADE, primary_key=True, related_name="embedding")
    model_key = models.CharField(max_length=32)
    text_hash = models.CharField(max_length=32)
    vector = models.BinaryField(help_text="float16, little-endian, 384 values.")
    seq = models.BigIntegerField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("offer embedding")
        verbose_name_plural = _("offer embeddings")

    def __str__(self) -> str:
        return f"embedding of offer {self.offer_id} ({self.model_key})"


class OfferEmbeddingVersion(models.Model):
    """One row (pk 1): bumped, row locked, in every transaction that stores vectors, so versions follow commit order
    and `offer_index_get` sees new vectors with one primary-key query."""

    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("offer embedding version")
        verbose_name_plural = _("offer embedding versions")

    def __str__(self) -> str:
        return f"offer embeddings version {self.version}"

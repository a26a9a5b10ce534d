"""Target audiences' stated needs, and the surveys whose responses are aggregated into weighted needs."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from offers.models import Audience, Domain, Territory, Theme

UNIT_INTERVAL = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class JourneyStage(models.TextChoices):
    ATTRACT = "attract", _("Attract")
    WELCOME = "welcome", _("Welcome")
    ANCHOR = "anchor", _("Anchor")


class NeedSource(models.TextChoices):
    SURVEY = "survey", _("Survey")
    WORKSHOP = "workshop", _("Workshop")
    INTERVIEW = "interview", _("Interview")
    STUDY = "study", _("Study")


class Survey(models.Model):
    title = models.CharField(max_length=200)
    reference = models.CharField(max_length=200, blank=True)
    date = models.DateField()
    audiences = models.ManyToManyField(Audience, blank=True, related_name="surveys")
    scale_min = models.PositiveSmallIntegerField(default=1)
    scale_max = models.PositiveSmallIntegerField(default=5)
    territory = models.ForeignKey(
        Territory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="surveys",
        help_text="The territory surveyed (who may see the survey); empty = the whole instance.",
    )
    # How a wide export (one row per respondent, one column per question) maps onto items, audiences, communes
    # and weights: stored with the survey so the next wave reuses it (audiences.services.survey_mapping).
    mapping = models.JSONField(default=dict, blank=True)
    previous_wave = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_waves",
        help_text="The same survey run earlier: compare follows its items by code.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.scale_max is not None and self.scale_min is not None and self.scale_max <= self.scale_min:
            raise ValidationError({"scale_max": _("scale_max must be greater than scale_min.")})


class SurveyItem(models.Model):
    """One question of a survey, tied to a domain/theme and measuring importance and/or satisfaction."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="items")
    code = models.SlugField(max_length=32)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="survey_items")
    themes = models.ManyToManyField(Theme, related_name="survey_items")
    statement = models.TextField()
    measures_importance = models.BooleanField(default=True)
    measures_satisfaction = models.BooleanField(default=True)
    stage = models.CharField(max_length=16, choices=JourneyStage.choices, default=JourneyStage.ANCHOR)
    # The scale each measure was asked on, when not the survey's (a 4-point importance and a 10-point
    # satisfaction question in one export); empty = the survey's scale_min/scale_max.
    importance_scale_min = models.PositiveSmallIntegerField(null=True, blank=True)
    importance_scale_max = models.PositiveSmallIntegerField(null=True, blank=True)
    satisfaction_scale_min = models.PositiveSmallIntegerField(null=True, blank=True)
    satisfaction_scale_max = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["survey", "code"]
        verbose_name = _("survey item")
        verbose_name_plural = _("survey items")
        constraints = [models.UniqueConstraint(fields=["survey", "code"], name="survey_item_code_unique")]

    def __str__(self) -> str:
        return f"{self.code}: {self.statement[:60]}"

    def scale(self, measure: str) -> tuple[int, int]:
        """The (min, max) scale `measure` ("importance" or "satisfaction") was asked on: the item's, else the
        survey's."""
        low, high = getattr(self, f"{measure}_scale_min"), getattr(self, f"{measure}_scale_max")
        return (
            self.survey.scale_min if low is None else low,  # 0 is a scale point (0-10), not "unset"
            self.survey.scale_max if high is None else high,
        )

    def clean(self) -> None:
        if not self.measures_importance and not self.measures_satisfaction:
            raise ValidationError(_("An item must measure importance, satisfaction or both."))


class SurveyResponse(models.Model):
    """One respondent's answer to one item, on the survey's scale."""

    item = models.ForeignKey(SurveyItem, on_delete=models.CASCADE, related_name="responses")
    respondent_id = models.CharField(max_length=64)
    audience = models.ForeignKey(Audience, null=True, blank=True, on_delete=models.PROTECT)
    commune = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.PROTECT)
    importance = models.PositiveSmallIntegerField(null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    weight = models.FloatField(default=1.0, help_text="The respondent's survey weight (1 when the file has none).")

    class Meta:
        ordering = ["item", "respondent_id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.UniqueConstraint(fields=["item", "respondent_id"], name="survey_response_unique"),
            models.CheckConstraint(condition=models.Q(weight__gt=0.0), name="survey_response_weight_positive"),
        ]


class SurveyOpenAnswer(models.Model):
    """One respondent's free-text answer to an open question ("Qu'est-ce qui vous manque le plus ?").

    Kept as written (the analyst reads it); quotes shown through the API are masked (e-mails, phone numbers).
    Open answers never become needs on their own: an analyst accepts a candidate need first.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="open_answers")
    question = models.CharField(max_length=64, help_text="The open question's code in the survey's mapping.")
    respondent_id = models.CharField(max_length=64)
    text = models.TextField()
    audience = models.ForeignKey(Audience, null=True, blank=True, on_delete=models.PROTECT)
    commune = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.PROTECT)
    weight = models.FloatField(default=1.0)

    class Meta:
        ordering = ["survey", "question", "respondent_id"]
        verbose_name = _("open answer")
        verbose_name_plural = _("open answers")
        constraints = [
            models.UniqueConstraint(fields=["survey", "question", "respondent_id"], name="survey_open_answer_unique"),
            models.CheckConstraint(condition=models.Q(weight__gt=0.0), name="survey_open_answer_weight_positive"),
        ]


# The response statistics behind a computed need's figures: computed, never written by a client.
NEED_STATISTICS_FIELDS = (
    "response_count",
    "weighted_response_count",
    "effective_response_count",
    "importance_ci_low",
    "importance_ci_high",
    "satisfaction_response_count",
    "satisfaction_effective_response_count",
    "satisfaction_ci_low",
    "satisfaction_ci_high",
)


class Need(models.Model):
    """A need stated by an audience, weighted by importance, satisfaction and volume.

    Needs computed from a survey carry `survey_item` and the response statistics behind each figure.
    """

    audience = models.ForeignKey(Audience, on_delete=models.PROTECT, related_name="needs")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="needs")
    themes = models.ManyToManyField(Theme, related_name="needs", blank=True)
    statement = models.TextField()
    search_text = models.TextField(blank=True, editable=False, help_text="Accent-folded statement used for search.")
    territory = models.ForeignKey(
        Territory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="needs",
        help_text="Territorial scope of the need; empty = the whole area.",
    )
    stage = models.CharField(max_length=16, choices=JourneyStage.choices, default=JourneyStage.ANCHOR)
    importance = models.FloatField(validators=UNIT_INTERVAL)
    satisfaction = models.FloatField(null=True, blank=True, validators=UNIT_INTERVAL)
    demand_volume = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=NeedSource.choices)
    source_reference = models.CharField(max_length=300, blank=True)
    source_date = models.DateField(null=True, blank=True)
    external_id = models.CharField(max_length=128, blank=True)
    survey_item = models.ForeignKey(
        SurveyItem, null=True, blank=True, on_delete=models.CASCADE, related_name="needs", editable=False
    )
    response_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # With survey weights: the weighted respondents behind importance (Σw) and Kish's effective sample size
    # (Σw)² / Σw², which the intervals use; both equal response_count when the survey has no weights.
    weighted_response_count = models.FloatField(null=True, blank=True, editable=False)
    effective_response_count = models.FloatField(null=True, blank=True, editable=False)
    importance_ci_low = models.FloatField(null=True, blank=True, editable=False)
    importance_ci_high = models.FloatField(null=True, blank=True, editable=False)
    satisfaction_response_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    satisfaction_effective_response_count = models.FloatField(null=True, blank=True, editable=False)
    satisfaction_ci_low = models.FloatField(null=True, blank=True, editable=False)
    satisfaction_ci_high = models.FloatField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-importance", "id"]
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="need_source_external_id_unique",
            ),
            models.UniqueConstraint(
                fields=["survey_item", "audience", "territory"],
                condition=models.Q(survey_item__isnull=False),
                name="need_survey_item_scope_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(importance__gte=0.0, importance__lte=1.0), name="need_importance_unit"
            ),
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True) | models.Q(satisfaction__gte=0.0, satisfaction__lte=1.0),
                name="need_satisfaction_unit",
            ),
        ]
        indexes = [models.Index(fields=["audience", "domain"], name="need_audience_domain_idx")]

    def __str__(self) -> str:
        return self.statement[:80]


class CandidateNeedStatus(models.TextChoices):
    PENDING = "pending", _("To review")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class CandidateNeedDecision(models.Model):
    """An analyst's decision on a candidate need grouped from open answers (accepted into a need, or rejected).

    Candidates are computed from the open answers on demand; a decision is keyed by the candidate's key
    (question, theme, audience) and applies while the group's answers are those it was taken on (`fingerprint`):
    a new upload that changes the group makes the candidate pending again, one that leaves it keeps the decision.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="candidate_need_decisions")
    key = models.CharField(max_length=200, help_text="question:theme:audience ('~' = no audience).")
    fingerprint = models.CharField(max_length=64, help_text="The group's answers the decision was taken on.")
    status = models.CharField(
        max_length=16,
        choices=[
            (value, label) for value, label in CandidateNeedStatus.choices if value != CandidateNeedStatus.PENDING
        ],
    )
    need = models.ForeignKey(
        Need, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidate_decisions"
    )
    answer_count = models.PositiveIntegerField(help_text="Answers in the group when decided.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["survey", "key"]
        verbose_name = _("candidate need decision")
        verbose_name_plural = _("candidate need decisions")
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="candidate_need_decision_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=["accepted", "rejected"]), name="candidate_need_decision_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.status}"

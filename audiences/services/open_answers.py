"""Open answers of a survey: stored, read masked and grouped into taxonomy themes, and offered as candidate needs
that an analyst accepts (the need is created with the rules of `need_create`) or rejects.

Candidates are computed on demand from the stored answers (`audiences.open_text` does the grouping, pure); only the
analyst's decisions are stored (`CandidateNeedDecision`), each tied to the answers it was taken on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from rest_framework.exceptions import NotFound

from api.exceptions import Conflict, ErrorItem, InvalidInput
from audiences import selectors
from audiences.models import (
    CandidateNeedDecision,
    CandidateNeedStatus,
    JourneyStage,
    Need,
    NeedSource,
    Survey,
    SurveyOpenAnswer,
)
from audiences.open_text import (
    SECOND_THEME_THRESHOLD,
    THEME_THRESHOLD,
    AnswerGroup,
    OpenAnswerRow,
    Quote,
    ThemeClassifier,
    ThemeScore,
    answers_classify,
    answers_group,
    group_fingerprint,
    importance_from_share,
    personal_data_mask,
    question_totals,
    theme_classifier_fit,
    theme_document,
)
from audiences.services.needs import need_create
from offers.models import Audience, Territory, Theme
from offers.territory_paths import path_contains

QUOTES_PER_GROUP = 5
OPEN_ANSWER_KEY_MAX = SurveyOpenAnswer._meta.get_field("question").max_length  # respondent_id has the same
NO_AUDIENCE = "~"  # the audience part of a candidate's key when its answers have none
UNCLASSIFIED = "unclassified"  # the theme filter value of answers no theme reached
# Below this many answers a candidate's proposed importance is capped: two respondents of a small audience are not
# "half of them".
SMALL_GROUP = 5
SMALL_GROUP_MAX_IMPORTANCE = 0.6


# ---------------------------------------------------------------------------
# Storing
# ---------------------------------------------------------------------------


@transaction.atomic
def open_answers_replace(*, survey: Survey, answers: Iterable[Mapping[str, Any]]) -> int:
    """Replace the survey's open answers by `answers` (dicts: question, respondent_id, text, and optionally
    audience and commune as model instances, weight); blank texts are no answer and are skipped. Every problem is
    reported at once and nothing is written unless all are valid. Returns the number of answers stored.

    The wide import (`survey_mapping`) may call it; decisions on candidate needs survive for unchanged groups.
    """
    errors: list[ErrorItem] = []
    objects: list[SurveyOpenAnswer] = []
    seen: set[tuple[str, str]] = set()
    for line, answer in enumerate(answers, start=1):
        text = (answer.get("text") or "").strip()
        if not text:
            continue
        question = str(answer.get("question") or "").strip()
        respondent = str(answer.get("respondent_id") or "").strip()
        weight = answer.get("weight", 1.0)
        for field, value in (("question", question), ("respondent_id", respondent)):
            if not value:
                errors.append(
                    ErrorItem(
                        field=field,
                        line=line,
                        code="required",
                        message=(gettext("The %(field)s is missing.") % {"field": field}),
                    )
                )
            elif len(value) > OPEN_ANSWER_KEY_MAX:
                errors.append(
                    ErrorItem(
                        field=field,
                        line=line,
                        code="max_length",
                        message=(
                            gettext("The %(field)s has %(count)s characters; at most %(open_answer_key_max)s.")
                            % {"field": field, "count": len(value), "open_answer_key_max": OPEN_ANSWER_KEY_MAX}
                        ),
                    )
                )
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < float("inf"):
            errors.append(
                ErrorItem(
                    field="weight",
                    line=line,
                    message=(gettext("The weight must be a number above 0, not %(weight)r.") % {"weight": weight}),
                )
            )
            weight = 1.0
        if (question, respondent) in seen:
            errors.append(
                ErrorItem(
                    field="respondent_id",
                    line=line,
                    code="duplicate",
                    message=(
                        gettext("Respondent %(respondent)r answers question %(question)r twice.")
                        % {"respondent": respondent, "question": question}
                    ),
                )
            )
        seen.add((question, respondent))
        objects.append(
            SurveyOpenAnswer(
                survey=survey,
                question=question,
                respondent_id=respondent,
                text=text,
                audience=answer.get("audience"),
                commune=answer.get("commune"),
                weight=float(weight),
            )
        )
    if errors:
        raise InvalidInput(errors)
    SurveyOpenAnswer.objects.filter(survey=survey).delete()
    SurveyOpenAnswer.objects.bulk_create(objects, batch_size=1000)
    return len(objects)


# ---------------------------------------------------------------------------
# Classifying (cached per process by the themes' text and the survey's answers)
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ThemeInfo:
    code: str
    label: str
    domain: str
    domain_label: str


_classifiers: dict[str, ThemeClassifier] = {}
_classified: OrderedDict[tuple[str, str], list[list[ThemeScore]]] = OrderedDict()
_CLASSIFIED_MAX = 32
_lock = threading.Lock()


def _digest(parts: Iterable[Any]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclasses.dataclass
class ClassifiedAnswers:
    """A survey's open answers with their themes (positions in `themes`), in `rows` order."""

    rows: list[OpenAnswerRow]
    communes: dict[int, str | None]
    found: list[list[ThemeScore]]
    themes: list[ThemeInfo]


def open_answers_classify(*, survey: Survey) -> ClassifiedAnswers:
    """Read the survey's open answers and file each under its themes. The result for the same answers and the same
    themes is reused (a process cache): repeated views of a large survey cost one query, not a refit."""
    theme_rows = selectors.theme_rows()
    themes = [ThemeInfo(r["code"], r["label"], r["domain__code"], r["domain__label"]) for r in theme_rows]
    themes_key = _digest((r["code"], r["label"], r["keywords"]) for r in theme_rows)
    raw = selectors.open_answer_rows(survey=survey)
    rows = [
        OpenAnswerRow(r["id"], r["question"], r["respondent_id"], r["text"], r["audience__code"], r["weight"])
        for r in raw
    ]
    answers_key = _digest((row.id, row.text) for row in rows)
    with _lock:
        classifier = _classifiers.get(themes_key)
        found = _classified.get((themes_key, answers_key))
    if classifier is None:
        classifier = theme_classifier_fit([theme_document(r["label"], r["keywords"]) for r in theme_rows])
        with _lock:
            _classifiers.clear()  # the themes changed: the previous fit is of no further use
            _classifiers[themes_key] = classifier
    if found is None:
        found = answers_classify(classifier, [row.text for row in rows])
        with _lock:
            _classified[(themes_key, answers_key)] = found
            while len(_classified) > _CLASSIFIED_MAX:
                _classified.popitem(last=False)
    return ClassifiedAnswers(
        rows=rows, communes={r["id"]: r["commune__code"] for r in raw}, found=found, themes=themes
    )


def open_answers_cache_clear() -> None:
    with _lock:
        _classifiers.clear()
        _classified.clear()


# ---------------------------------------------------------------------------
# Reading: answers, groups and candidates
# ---------------------------------------------------------------------------


def mask_markers() -> dict[str, str]:
    """What replaces personal data in the answers shown, in the active language (`open_text.MASK_MARKERS` kinds)."""
    return {
        "email": gettext("[e-mail hidden]"),
        "phone": gettext("[phone number hidden]"),
        "url": gettext("[link hidden]"),
        "name": gettext("[name hidden]"),
    }


@dataclasses.dataclass(frozen=True)
class OpenAnswerItem:
    """One answer as the API lists it; the text is masked when read, so a page of a large survey masks only its
    own answers."""

    row: OpenAnswerRow
    commune: str | None
    themes: list[dict]

    id = property(lambda self: self.row.id)
    question = property(lambda self: self.row.question)
    respondent_id = property(lambda self: self.row.respondent_id)
    audience = property(lambda self: self.row.audience)
    weight = property(lambda self: self.row.weight)

    @property
    def text(self) -> str:
        return personal_data_mask(self.row.text, markers=mask_markers())


def open_answer_list(*, survey: Survey, question: str | None = None, theme: str | None = None) -> list[OpenAnswerItem]:
    """The survey's open answers, masked, each with its themes; `theme` may be a theme code or "unclassified"."""
    classified = open_answers_classify(survey=survey)
    themes = classified.themes
    if theme is not None and theme != UNCLASSIFIED and theme not in {info.code for info in themes}:
        raise InvalidInput(
            [
                ErrorItem(
                    field="theme", code="not_found", message=(gettext("Unknown theme %(theme)r.") % {"theme": theme})
                )
            ]
        )
    answers = []
    for row, found in zip(classified.rows, classified.found, strict=True):
        codes = [themes[score.theme].code for score in found]
        if question is not None and row.question != question:
            continue
        if theme == UNCLASSIFIED and codes:
            continue
        if theme not in (None, UNCLASSIFIED) and theme not in codes:
            continue
        labelled = [
            {"code": themes[score.theme].code, "label": themes[score.theme].label, "score": score.score}
            for score in found
        ]
        answers.append(OpenAnswerItem(row=row, commune=classified.communes.get(row.id), themes=labelled))
    return answers


def _question_labels(survey: Survey) -> dict[str, str]:
    questions = (survey.mapping or {}).get("open_questions") or []
    return {
        str(question.get("code")): str(question.get("label") or question.get("code"))
        for question in questions
        if isinstance(question, dict) and question.get("code")
    }


def _audience_breakdown(group: AnswerGroup) -> list[dict]:
    return [
        {"audience": audience, "count": count, "weighted_count": round(weight, 6)}
        for audience, (count, weight) in sorted(group.audiences.items(), key=lambda item: (-item[1][1], item[0] or ""))
    ]


@dataclasses.dataclass
class CandidateNeed:
    """A need proposed from one group of open answers (question x theme x audience), with what stands behind it."""

    key: str
    question: str
    question_label: str
    theme: ThemeInfo
    audience: str | None  # the audience the need would be for (None: the analyst must give one)
    answer_audience: str | None
    territory: Territory | None
    statement: str
    importance: float
    stage: str
    source_reference: str
    source_date: Any
    count: int
    weighted_count: float
    respondents: float
    share: float
    quotes: list[Quote]
    fingerprint: str
    status: str = CandidateNeedStatus.PENDING
    need_id: int | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    previous_decision: str | None = None

    @property
    def domain(self) -> str:
        return self.theme.domain

    @property
    def themes(self) -> list[str]:
        return [self.theme.code]

    @property
    def source(self) -> str:
        return NeedSource.SURVEY

    @property
    def territory_code(self) -> str | None:
        return self.territory.qualified_code if self.territory else None

    @property
    def need(self) -> int | None:
        return self.need_id


@dataclasses.dataclass
class CandidateNeedsReport:
    threshold: float
    second_threshold: float
    questions: list[dict]
    candidates: list[CandidateNeed]


def candidate_key(question: str, theme: str, audience: str | None) -> str:
    return f"{question}:{theme}:{audience or NO_AUDIENCE}"


def proposed_importance(*, share: float, count: int) -> float:
    """The importance rule (docs/open-answers.md): steps on the share of respondents, capped for small groups."""
    importance = importance_from_share(share)
    return min(importance, SMALL_GROUP_MAX_IMPORTANCE) if count < SMALL_GROUP else importance


def _statement(theme: ThemeInfo, question_label: str) -> str:
    return gettext("%(theme)s (cited in answer to “%(question)s”)") % {
        "theme": theme.label,
        "question": question_label,
    }


def candidate_needs_build(*, survey: Survey) -> CandidateNeedsReport:
    """Groups per question (themes and unclassified, every answer counted) and the candidates with their status."""
    classified = open_answers_classify(survey=survey)
    themes, rows = classified.themes, classified.rows
    labels = _question_labels(survey)
    survey_audiences = [audience.code for audience in survey.audiences.all()]
    default_audience = survey_audiences[0] if len(survey_audiences) == 1 else None
    decisions = selectors.candidate_need_decisions(survey=survey)
    totals = question_totals(rows, by_audience=True)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.question] = counts.get(row.question, 0) + 1

    questions = []
    by_question = answers_group(rows, classified.found, by_audience=False)
    for question in sorted(counts):
        total = totals[(question, None)]
        groups, unclassified = [], None
        for (group_question, theme, _), group in by_question.items():
            if group_question != question:
                continue
            summary = {
                "count": group.count,
                "weighted_count": round(group.weighted_count, 6),
                "share": round(group.weighted_count / total, 6),
                "audiences": _audience_breakdown(group),
                "quotes": group.quotes(QUOTES_PER_GROUP, markers=mask_markers()),
            }
            if theme is None:
                unclassified = summary
            else:
                info = themes[theme]
                groups.append({"theme": info.code, "theme_label": info.label, "domain": info.domain, **summary})
        groups.sort(key=lambda group: (-group["weighted_count"], group["theme"]))
        questions.append(
            {
                "question": question,
                "label": labels.get(question, question),
                "answers": counts[question],
                "weighted_answers": round(total, 6),
                "groups": groups,
                "unclassified": unclassified
                or {"count": 0, "weighted_count": 0.0, "share": 0.0, "audiences": [], "quotes": []},
            }
        )

    candidates = []
    for (question, theme, audience), group in answers_group(rows, classified.found, by_audience=True).items():
        if theme is None:
            continue
        info = themes[theme]
        respondents = totals[(question, audience)]
        share = group.weighted_count / respondents
        label = labels.get(question, question)
        fingerprint = group_fingerprint(row for _, row in group.scored)
        reference = survey.reference or survey.title
        candidate = CandidateNeed(
            key=candidate_key(question, info.code, audience),
            question=question,
            question_label=label,
            theme=info,
            audience=audience or default_audience,
            answer_audience=audience,
            territory=survey.territory,
            statement=_statement(info, label),
            importance=proposed_importance(share=share, count=group.count),
            stage=JourneyStage.ANCHOR,
            source_reference=(
                gettext("%(reference)s, open question “%(question)s”: %(count)s answer(s)")
                % {"reference": reference, "question": label, "count": group.count}
            )[:300],
            source_date=survey.date,
            count=group.count,
            weighted_count=round(group.weighted_count, 6),
            respondents=round(respondents, 6),
            share=round(share, 6),
            quotes=group.quotes(QUOTES_PER_GROUP, markers=mask_markers()),
            fingerprint=fingerprint,
        )
        decision = decisions.get(candidate.key)
        if decision is not None:
            # An accepted candidate whose need was deleted since is open again, like one whose answers changed.
            need_deleted = decision.status == CandidateNeedStatus.ACCEPTED and decision.need_id is None
            if decision.fingerprint == fingerprint and not need_deleted:
                candidate.status = decision.status
                candidate.need_id = decision.need_id
                candidate.decided_at = decision.decided_at
                candidate.decided_by = decision.decided_by.get_username() if decision.decided_by else None
            else:
                candidate.previous_decision = decision.status
        candidates.append(candidate)
    candidates.sort(key=lambda candidate: (candidate.question, -candidate.weighted_count, candidate.key))
    return CandidateNeedsReport(
        threshold=THEME_THRESHOLD, second_threshold=SECOND_THEME_THRESHOLD, questions=questions, candidates=candidates
    )


def candidate_need_get(*, survey: Survey, key: str) -> CandidateNeed:
    for candidate in candidate_needs_build(survey=survey).candidates:
        if candidate.key == key:
            return candidate
    raise NotFound(gettext("No candidate need %(key)r in this survey's open answers.") % {"key": key})


# ---------------------------------------------------------------------------
# Deciding
# ---------------------------------------------------------------------------


def _locked_candidate(survey: Survey, key: str) -> CandidateNeed:
    # Decisions on one survey are taken one at a time (PostgreSQL row lock), so a double click cannot create two
    # needs; SQLite serialises writers anyway.
    Survey.objects.select_for_update().filter(pk=survey.pk).first()
    return candidate_need_get(survey=survey, key=key)


def _decision_record(
    *, survey: Survey, candidate: CandidateNeed, status: str, need: Need | None, user
) -> CandidateNeedDecision:
    try:
        with transaction.atomic():
            decision, _ = CandidateNeedDecision.objects.update_or_create(
                survey=survey,
                key=candidate.key,
                defaults={
                    "fingerprint": candidate.fingerprint,
                    "status": status,
                    "need": need,
                    "answer_count": candidate.count,
                    "decided_by": user if getattr(user, "is_authenticated", False) else None,
                },
            )
    except IntegrityError as exc:  # a concurrent decision on the same candidate won
        raise Conflict(
            gettext("Candidate %(key)r was decided meanwhile; reload it.") % {"key": candidate.key}
        ) from exc
    candidate.status = status
    candidate.need_id = need.pk if need else None
    candidate.decided_at = decision.decided_at
    candidate.decided_by = decision.decided_by.get_username() if decision.decided_by else None
    candidate.previous_decision = None
    return decision


def _edited_values(*, survey: Survey, candidate: CandidateNeed, edits: Mapping[str, Any]) -> tuple[dict, list[Theme]]:
    """The need's values: the candidate's proposal with the analyst's edits (model instances for relations)."""
    errors = []
    audience = edits.get("audience")
    if audience is None and candidate.audience is not None:
        audience = Audience.objects.get(code=candidate.audience)
    if audience is None:
        errors.append(
            ErrorItem(
                field="audience",
                code="required",
                message=gettext("These answers have no audience and the survey targets several: give the audience."),
            )
        )
    themes = list(edits["themes"]) if "themes" in edits else list(Theme.objects.filter(code=candidate.theme.code))
    if not themes:
        errors.append(ErrorItem(field="themes", code="required", message=gettext("A need has at least one theme.")))
    territory = edits.get("territory", survey.territory)
    if survey.territory is not None and (
        territory is None or not any(path_contains(outer, territory.path) for outer in survey.territory.paths)
    ):
        errors.append(
            ErrorItem(
                field="territory",
                code="outside_survey",
                message=(
                    gettext("The survey covers %(name)s: the need's territory must lie inside it.")
                    % {"name": survey.territory.name}
                ),
            )
        )
    if errors:
        raise InvalidInput(errors)
    values = {
        "audience": audience,
        "domain": themes[0].domain,
        "statement": edits.get("statement", candidate.statement),
        "territory": territory,
        "stage": edits.get("stage", candidate.stage),
        "importance": edits.get("importance", candidate.importance),
        "demand_volume": round(candidate.weighted_count),
        "source": NeedSource.SURVEY,
        "source_reference": candidate.source_reference,
        "source_date": candidate.source_date,
    }
    return values, themes


@transaction.atomic
def candidate_need_accept(*, survey: Survey, key: str, edits: Mapping[str, Any], user=None) -> CandidateNeed:
    """Create the candidate's need (with the analyst's edits: statement, importance, audience, themes, territory,
    stage), validated like any need (`need_create`), and record the decision. 404 for an unknown key, 409 when the
    candidate is already accepted (for the same answers)."""
    candidate = _locked_candidate(survey, key)
    if candidate.status == CandidateNeedStatus.ACCEPTED:
        raise Conflict(
            gettext("Candidate %(key)r is already accepted (need %(need_id)s).")
            % {"key": key, "need_id": candidate.need_id}
        )
    values, themes = _edited_values(survey=survey, candidate=candidate, edits=edits)
    need = need_create(values=values, themes=themes)
    _decision_record(survey=survey, candidate=candidate, status=CandidateNeedStatus.ACCEPTED, need=need, user=user)
    return candidate


@transaction.atomic
def candidate_need_reject(*, survey: Survey, key: str, user=None) -> CandidateNeed:
    """Record that the candidate is not a need. 404 for an unknown key; 409 when it is already decided (an accepted
    one has its need: delete the need instead)."""
    candidate = _locked_candidate(survey, key)
    if candidate.status == CandidateNeedStatus.ACCEPTED:
        raise Conflict(
            gettext("Candidate %(key)r is accepted (need %(need_id)s); delete that need instead.")
            % {"key": key, "need_id": candidate.need_id}
        )
    if candidate.status == CandidateNeedStatus.REJECTED:
        raise Conflict(gettext("Candidate %(key)r is already rejected.") % {"key": key})
    _decision_record(survey=survey, candidate=candidate, status=CandidateNeedStatus.REJECTED, need=None, user=user)
    return candidate

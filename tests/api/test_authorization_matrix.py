"""Object-level authorisation (OWASP API1): every endpoint x every role, on real objects and with real token auth.

Roles: anonymous, editor of organisation A, editor of organisation B, analyst, admin. Each case sends one request
as each role and asserts the status; a refused request (4xx) and every read must leave the database exactly as it
was (fingerprint of every client-writable row), an accepted write must change it. The matrix is checked against
the generated OpenAPI schema and the URL resolver: an endpoint without a case fails `test_every_endpoint_*`.
"""

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.schemas.generators import EndpointEnumerator

from audiences.services import open_answers_replace
from tests.api.authz_world import (
    PASSWORD,
    ROLES,
    World,
    fingerprint,
    module_world_fixture,  # noqa: F401 (fixture)
    named_file,
    need_body,
    offer_body,
    organisation_body,
    survey_body,
    world_fixture,  # noqa: F401 (fixture)
)
from tests.audiences.factories import RESPONSES_CSV, WIDE_MAPPING, wide_csv
from tests.offers.factories import DATA_INCLUSION_SERVICES

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


def statuses(anonymous: int, editor_a: int, editor_b: int, analyst: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, editor_a, editor_b, analyst, admin), strict=True))


def everyone(status: int = 200) -> dict[str, int]:
    return statuses(status, status, status, status, status)


def analysts(status: int = 200) -> dict[str, int]:
    """Strategy material: 401 without credentials, 403 for editors, `status` for analysts and admins."""
    return statuses(401, 403, 403, status, status)


def admins(status: int) -> dict[str, int]:
    return statuses(401, 403, 403, 403, status)


def visible(role: str) -> set[str]:
    """Offers each role may read: published ones for all, an organisation's drafts and archived offers for its
    editors, everything for admins. Analysts are not editors: the published catalogue only."""
    published = {"a_published", "b_published"}
    if role == "admin":
        return {f"{letter}_{status}" for letter in "ab" for status in ("published", "draft", "archived")}
    if role in ("editor_a", "editor_b"):
        return published | {f"{role[-1]}_draft", f"{role[-1]}_archived"}
    return published


def readers(offer: str) -> dict[str, int]:
    """200 for the roles that may see the offer, 404 for the others (a draft's existence is not revealed)."""
    return {role: 200 if offer in visible(role) else 404 for role in ROLES}


Request = Callable[[World, str], tuple[str, object, str]]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # the OpenAPI path template
    label: str
    expected: dict[str, int]
    request: Request  # (world, role) -> (url, body, format)
    writes: bool = False  # whether an accepted request changes the database

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} [{self.label}]"


def at(url: Callable[[World], str], body: Callable[[World], object] | None = None, fmt: str = "json") -> Request:
    return lambda w, role: (url(w), body(w) if body else None, fmt)


def offer_url(key: str) -> Callable[[World], str]:
    return lambda w: f"{V1}/offers/{w.offers[key].pk}/"


def csv_upload(text: str, name: str = "file.csv", **fields) -> Callable[[World], dict]:
    return lambda w: {"file": named_file(text.encode(), name), **fields}


OFFER_CSV = (
    "identifiant;titre;description;domaine;thèmes;organisation;commune;gratuit;statut\n"
    "{key};Relais petite enfance;Ateliers pour les parents.;daily-life;childcare;{org};23096;oui;draft\n"
)


def wide_upload(*, mapping: bool = False) -> Callable[[World], dict]:
    fields = {"mapping": json.dumps(WIDE_MAPPING)} if mapping else {}
    return lambda w: {"file": named_file(wide_csv(), "export.csv"), **fields}


def mapped_survey_url(suffix: str) -> Callable[[World], str]:
    """The world's survey with a stored wide-file mapping."""

    def url(w: World) -> str:
        w.survey.mapping = WIDE_MAPPING
        w.survey.save(update_fields=["mapping"])
        return f"{V1}/surveys/{w.survey.pk}/{suffix}"

    return url


def offer_csv(key: str, **fields) -> Callable[[World], dict]:
    def body(w: World) -> dict:
        text = OFFER_CSV.format(key=key, org=w.organisation_a.slug)
        return {"file": named_file(text.encode(), "offres.csv"), "source": "cd23", **fields}

    return body


def data_inclusion(w: World) -> dict:
    content = json.dumps(DATA_INCLUSION_SERVICES).encode()
    return {"file": named_file(content, "services.json"), "organisation": w.organisation_a.slug}


def custom_territory(w: World) -> str:
    """A custom territory nothing uses, made in the role's own transaction (rolled back after it)."""
    from offers.models import Territory
    from offers.services import custom_territory_create

    if not Territory.objects.filter(kind="custom", code="duo").exists():
        custom_territory_create(code="duo", name="Duo", members=["200034825"])
    return "custom:duo"


def token_request(w: World, role: str):
    """Each role asks for its own token; anonymous sends a wrong password."""
    user = w.users[role]
    username = user.username if user else "editor-a"
    return f"{V1}/auth/token/", {"username": username, "password": PASSWORD if user else "wrong"}, "json"


def run_url(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"{V1}/matching/runs/{w.run.pk}/{suffix}"


def survey_with_answers(suffix: str, body: dict | None = None) -> Request:
    """A request on the world's survey once it has an open answer (written in the role's rolled-back transaction,
    before the fingerprint is taken)."""

    def request(w: World, role: str):
        open_answers_replace(
            survey=w.survey,
            answers=[{"question": "manque", "respondent_id": "r1", "text": "une crèche", "audience": w.need.audience}],
        )
        return f"{V1}/surveys/{w.survey.pk}/{suffix}", body, "json"

    return request


def source_readers() -> dict[str, int]:
    """Organisation A's source: 401 without credentials, A's editors, analysts and admins read it, B's editors do
    not see it (404)."""
    return statuses(401, 200, 404, 200, 200)


def source_url(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"{V1}/sources/{w.source.pk}/{suffix}"


def source_body(w: World) -> dict:
    return {"code": "agenda-a", "name": "Agenda A", "organisation": w.organisation_a.slug, "format": "data_inclusion"}


def sync_upload(w: World) -> dict:
    return {"file": named_file(json.dumps(DATA_INCLUSION_SERVICES).encode(), "services.json")}


NEEDS_CSV = (
    "external_id,audience,domain,themes,statement,importance,source\n"
    "AT-9,families,daily-life,childcare,Crèche,0.5,workshop\n"
)

CASES = [
    # Cross-cutting ---------------------------------------------------------------------------------------------
    Case("GET", f"{V1}/", "root", everyone(), at(lambda w: f"{V1}/")),
    Case("GET", f"{V1}/health/", "health", everyone(), at(lambda w: f"{V1}/health/")),
    Case("POST", f"{V1}/auth/token/", "own credentials", statuses(400, 200, 200, 200, 200), token_request),
    Case("GET", f"{V1}/me/", "own account", statuses(401, 200, 200, 200, 200), at(lambda w: f"{V1}/me/")),
    Case("GET", "/api/schema/", "schema", everyone(), at(lambda w: "/api/schema/")),
    Case("GET", "/api/docs/", "Swagger UI", everyone(), at(lambda w: "/api/docs/")),
    Case("GET", "/api/redoc/", "Redoc", everyone(), at(lambda w: "/api/redoc/")),
    # Reference data --------------------------------------------------------------------------------------------
    Case("GET", f"{V1}/territories/", "list", everyone(), at(lambda w: f"{V1}/territories/")),
    Case("GET", f"{V1}/territories/{{code}}/", "commune", everyone(), at(lambda w: f"{V1}/territories/23096/")),
    Case(
        "POST",
        f"{V1}/territories/",
        "custom",
        analysts(201),
        at(
            lambda w: f"{V1}/territories/",
            lambda w: {"kind": "custom", "code": "duo", "name": "Duo", "members": ["200034825", "23030"]},
        ),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/territories/{{code}}/",
        "custom",
        analysts(200),
        at(lambda w: f"{V1}/territories/{custom_territory(w)}/", lambda w: {"name": "Duo du Guéret"}),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/territories/{{code}}/",
        "commune",
        statuses(401, 403, 403, 403, 403),
        at(lambda w: f"{V1}/territories/23096/", lambda w: {"name": "Autre nom"}),
    ),
    Case(
        "DELETE",
        f"{V1}/territories/{{code}}/",
        "unused custom",
        analysts(204),
        at(lambda w: f"{V1}/territories/{custom_territory(w)}/"),
        writes=True,
    ),
    Case("GET", f"{V1}/taxonomy/", "taxonomy", everyone(), at(lambda w: f"{V1}/taxonomy/")),
    # Offers ----------------------------------------------------------------------------------------------------
    Case("GET", f"{V1}/offers/", "list", everyone(), at(lambda w: f"{V1}/offers/")),
    *(
        Case("GET", f"{V1}/offers/{{id}}/", key, readers(key), at(offer_url(key)))
        for key in ("a_published", "a_draft", "a_archived", "b_published", "b_draft", "b_archived")
    ),
    Case("GET", f"{V1}/offers/export/", "csv", everyone(), at(lambda w: f"{V1}/offers/export/?format=csv")),
    Case(
        "POST",
        f"{V1}/offers/",
        "for organisation A",
        statuses(401, 201, 403, 403, 201),
        at(lambda w: f"{V1}/offers/", lambda w: offer_body(w.organisation_a)),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/offers/",
        "for organisation B",
        statuses(401, 403, 201, 403, 201),
        at(lambda w: f"{V1}/offers/", lambda w: offer_body(w.organisation_b)),
        writes=True,
    ),
    Case(
        "PUT",
        f"{V1}/offers/{{id}}/",
        "A's published offer",
        statuses(401, 200, 403, 403, 200),
        at(offer_url("a_published"), lambda w: offer_body(w.organisation_a)),
        writes=True,
    ),
    Case(
        "PUT",
        f"{V1}/offers/{{id}}/",
        "A's draft",
        statuses(401, 200, 404, 404, 200),
        at(offer_url("a_draft"), lambda w: offer_body(w.organisation_a)),
        writes=True,
    ),
    Case(
        "PUT",
        f"{V1}/offers/{{id}}/",
        "A's published offer moved to B",
        statuses(401, 403, 403, 403, 200),
        at(offer_url("a_published"), lambda w: offer_body(w.organisation_b)),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/offers/{{id}}/",
        "A's published offer",
        statuses(401, 200, 403, 403, 200),
        at(offer_url("a_published"), lambda w: {"title": "Nouveau titre"}),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/offers/{{id}}/",
        "A's archived offer",
        statuses(401, 200, 404, 404, 200),
        at(offer_url("a_archived"), lambda w: {"status": "published"}),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/offers/{{id}}/",
        "A's draft moved to B",
        statuses(401, 403, 404, 404, 200),
        at(offer_url("a_draft"), lambda w: {"organisation": w.organisation_b.slug}),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/offers/{{id}}/",
        "B's draft",
        statuses(401, 404, 200, 404, 200),
        at(offer_url("b_draft"), lambda w: {"title": "Nouveau titre"}),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/offers/{{id}}/",
        "A's published offer",
        statuses(401, 204, 403, 403, 204),
        at(offer_url("a_published")),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/offers/{{id}}/",
        "B's published offer moved to A",
        statuses(401, 403, 403, 403, 200),
        at(offer_url("b_published"), lambda w: {"organisation": w.organisation_a.slug}),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/offers/{{id}}/",
        "A's draft",
        statuses(401, 204, 404, 404, 204),
        at(offer_url("a_draft")),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/offers/{{id}}/",
        "B's draft",
        statuses(401, 404, 204, 404, 204),
        at(offer_url("b_draft")),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/offers/import/",
        "rows of organisation A",
        # Editor B: every row refused (line, field organisation); a user of no organisation: refused as a whole.
        statuses(401, 200, 400, 403, 200),
        at(lambda w: f"{V1}/offers/import/", offer_csv("new-1"), "multipart"),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/offers/import/",
        "dry run",
        statuses(401, 200, 400, 403, 200),
        at(lambda w: f"{V1}/offers/import/", offer_csv("new-1", dry_run="true"), "multipart"),
    ),
    Case(
        "POST",
        f"{V1}/offers/import/",
        "B's draft key reused in organisation A",
        # The (source, identifier) of B's draft, in organisation A: keys are scoped to the organisation (issue 17),
        # so A's editor creates A's own offer (B's is untouched) and learns nothing of B's; B's editor may not write
        # into A. This once answered 400 to A's editor, which confirmed that B held the key.
        statuses(401, 200, 400, 403, 200),
        at(lambda w: f"{V1}/offers/import/", offer_csv("b-draft"), "multipart"),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/offers/import/data-inclusion/",
        "into organisation A",
        statuses(401, 200, 403, 403, 200),
        at(lambda w: f"{V1}/offers/import/data-inclusion/", data_inclusion, "multipart"),
        writes=True,
    ),
    # Organisations ---------------------------------------------------------------------------------------------
    Case("GET", f"{V1}/organisations/", "list", everyone(), at(lambda w: f"{V1}/organisations/")),
    Case(
        "GET",
        f"{V1}/organisations/{{slug}}/",
        "A",
        everyone(),
        at(lambda w: f"{V1}/organisations/{w.organisation_a.slug}/"),
    ),
    Case(
        "POST",
        f"{V1}/organisations/",
        "new",
        admins(201),
        at(lambda w: f"{V1}/organisations/", lambda w: organisation_body()),
        writes=True,
    ),
    Case(
        "PUT",
        f"{V1}/organisations/{{slug}}/",
        "A, every field",
        admins(200),
        at(lambda w: f"{V1}/organisations/{w.organisation_a.slug}/", lambda w: organisation_body()),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/organisations/{{slug}}/",
        "A's contact",
        statuses(401, 200, 403, 403, 200),
        at(lambda w: f"{V1}/organisations/{w.organisation_a.slug}/", lambda w: {"phone": "05 55 11 22 33"}),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/organisations/{{slug}}/",
        "A's name",
        admins(200),
        at(lambda w: f"{V1}/organisations/{w.organisation_a.slug}/", lambda w: {"name": "Autre nom"}),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/organisations/{{slug}}/",
        "without offers",
        admins(204),
        at(lambda w: f"{V1}/organisations/{w.organisation_empty.slug}/"),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/organisations/{{slug}}/",
        "A, which has offers",
        admins(409),
        at(lambda w: f"{V1}/organisations/{w.organisation_a.slug}/"),
    ),
    # Sources kept in sync: signed-in users only; editors see and write their organisation's, analysts read all and
    # change a theme_mapping only, admins everything ----------------------------------------------------------------
    Case("GET", f"{V1}/sources/", "list", statuses(401, 200, 200, 200, 200), at(lambda w: f"{V1}/sources/")),
    Case("GET", f"{V1}/sources/{{id}}/", "A's", source_readers(), at(source_url())),
    Case(
        "POST",
        f"{V1}/sources/",
        "for A",
        statuses(401, 201, 403, 403, 201),
        at(lambda w: f"{V1}/sources/", source_body),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/sources/{{id}}/",
        "name",
        statuses(401, 200, 404, 403, 200),
        at(source_url(), lambda w: {"name": "Services de l'agglomération"}),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/sources/{{id}}/",
        "theme_mapping",
        statuses(401, 200, 404, 200, 200),
        at(source_url(), lambda w: {"theme_mapping": {"famille--garde-denfants": ["childcare"]}}),
        writes=True,
    ),
    Case(
        "DELETE", f"{V1}/sources/{{id}}/", "no offer", statuses(401, 204, 404, 403, 204), at(source_url()), writes=True
    ),
    Case("GET", f"{V1}/sources/{{id}}/syncs/", "list", source_readers(), at(source_url("syncs/"))),
    Case(
        "POST",
        f"{V1}/sources/{{id}}/syncs/",
        "upload",
        statuses(401, 202, 404, 403, 202),
        at(source_url("syncs/"), sync_upload, "multipart"),
        writes=True,
    ),
    Case(
        "GET",
        f"{V1}/source-syncs/{{id}}/",
        "A's",
        source_readers(),
        at(lambda w: f"{V1}/source-syncs/{w.sync.pk}/"),
    ),
    # Audiences, needs, surveys: analysts and admins only -------------------------------------------------------
    Case("GET", f"{V1}/audiences/", "list", analysts(), at(lambda w: f"{V1}/audiences/")),
    Case("GET", f"{V1}/audiences/{{code}}/", "families", analysts(), at(lambda w: f"{V1}/audiences/families/")),
    Case(
        "POST",
        f"{V1}/audiences/",
        "new",
        analysts(201),
        at(lambda w: f"{V1}/audiences/", lambda w: {"code": "digital-nomads", "label": "Nomades numériques"}),
        writes=True,
    ),
    Case(
        "PUT",
        f"{V1}/audiences/{{code}}/",
        "unused",
        analysts(200),
        at(lambda w: f"{V1}/audiences/{w.audience.code}/", lambda w: {"code": w.audience.code, "label": "Arrivants"}),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/audiences/{{code}}/",
        "unused",
        analysts(200),
        at(lambda w: f"{V1}/audiences/{w.audience.code}/", lambda w: {"label": "Arrivants"}),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/audiences/{{code}}/",
        "unused",
        analysts(204),
        at(lambda w: f"{V1}/audiences/{w.audience.code}/"),
        writes=True,
    ),
    Case("GET", f"{V1}/needs/", "list", analysts(), at(lambda w: f"{V1}/needs/")),
    Case("GET", f"{V1}/needs/{{id}}/", "hand-made", analysts(), at(lambda w: f"{V1}/needs/{w.need.pk}/")),
    Case("GET", f"{V1}/needs/export/", "csv", analysts(), at(lambda w: f"{V1}/needs/export/")),
    Case(
        "POST", f"{V1}/needs/", "new", analysts(201), at(lambda w: f"{V1}/needs/", lambda w: need_body()), writes=True
    ),
    Case(
        "PUT",
        f"{V1}/needs/{{id}}/",
        "hand-made",
        analysts(200),
        at(lambda w: f"{V1}/needs/{w.need.pk}/", lambda w: need_body()),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/needs/{{id}}/",
        "hand-made",
        analysts(200),
        at(lambda w: f"{V1}/needs/{w.need.pk}/", lambda w: {"importance": 0.9}),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/needs/{{id}}/",
        "hand-made",
        analysts(204),
        at(lambda w: f"{V1}/needs/{w.need.pk}/"),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/needs/import/",
        "one need",
        analysts(200),
        at(lambda w: f"{V1}/needs/import/", csv_upload(NEEDS_CSV), "multipart"),
        writes=True,
    ),
    Case("GET", f"{V1}/surveys/", "list", analysts(), at(lambda w: f"{V1}/surveys/")),
    Case("GET", f"{V1}/surveys/{{id}}/", "survey", analysts(), at(lambda w: f"{V1}/surveys/{w.survey.pk}/")),
    Case(
        "POST",
        f"{V1}/surveys/",
        "new",
        analysts(201),
        at(lambda w: f"{V1}/surveys/", lambda w: survey_body()),
        writes=True,
    ),
    Case(
        "PUT",
        f"{V1}/surveys/{{id}}/",
        "survey",
        analysts(200),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/", lambda w: survey_body()),
        writes=True,
    ),
    Case(
        "PATCH",
        f"{V1}/surveys/{{id}}/",
        "title",
        analysts(200),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/", lambda w: {"title": "Enquête 2026"}),
        writes=True,
    ),
    Case(
        "DELETE",
        f"{V1}/surveys/{{id}}/",
        "survey",
        analysts(204),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/"),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/surveys/{{id}}/responses/",
        "responses file",
        analysts(200),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/responses/", csv_upload(RESPONSES_CSV), "multipart"),
        writes=True,
    ),
    # Open answers and candidate needs (the world's survey gets one family's answer before each request).
    Case("GET", f"{V1}/surveys/{{id}}/open-answers/", "answers", analysts(), survey_with_answers("open-answers/")),
    Case(
        "GET",
        f"{V1}/surveys/{{id}}/candidate-needs/",
        "candidates",
        analysts(),
        survey_with_answers("candidate-needs/"),
    ),
    Case(
        "POST",
        f"{V1}/surveys/{{id}}/candidate-needs/{{key}}/accept/",
        "accept",
        analysts(201),
        survey_with_answers("candidate-needs/manque:childcare:families/accept/", {"importance": 0.7}),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/surveys/{{id}}/candidate-needs/{{key}}/reject/",
        "reject",
        analysts(200),
        survey_with_answers("candidate-needs/manque:childcare:families/reject/"),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/surveys/{{id}}/waves/",
        "next wave",
        analysts(201),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/waves/", lambda w: {"title": "Enquête 2026", "date": "2026-03-02"}),
        writes=True,
    ),
    # A first wave has nothing to compare with: analysts get the 400 saying so, the others never see it.
    Case(
        "GET",
        f"{V1}/surveys/{{id}}/compare/",
        "first wave",
        analysts(400),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/compare/"),
    ),
    Case(
        "POST",
        f"{V1}/surveys/{{id}}/responses/wide/",
        "wide file",
        analysts(200),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/responses/wide/", wide_upload(mapping=True), "multipart"),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/surveys/{{id}}/responses/preview/",
        "wide file",
        analysts(200),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/responses/preview/", wide_upload(mapping=True), "multipart"),
    ),
    Case("GET", f"{V1}/surveys/{{id}}/mapping/", "stored", analysts(), at(mapped_survey_url("mapping/"))),
    Case(
        "PUT",
        f"{V1}/surveys/{{id}}/mapping/",
        "mapping",
        analysts(200),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/mapping/", lambda w: WIDE_MAPPING),
        writes=True,
    ),
    Case(
        "POST",
        f"{V1}/surveys/{{id}}/mapping/suggest/",
        "wide file",
        analysts(200),
        at(lambda w: f"{V1}/surveys/{w.survey.pk}/mapping/suggest/", wide_upload(), "multipart"),
    ),
    # Matching --------------------------------------------------------------------------------------------------
    Case("GET", f"{V1}/matching/runs/", "list", analysts(), at(lambda w: f"{V1}/matching/runs/")),
    Case("GET", f"{V1}/matching/runs/{{id}}/", "run", analysts(), at(run_url())),
    Case(
        "POST",
        f"{V1}/matching/runs/",
        "launch",
        analysts(202),
        at(lambda w: f"{V1}/matching/runs/", lambda w: {}),
        writes=True,
    ),
    Case("GET", f"{V1}/matching/runs/{{run_id}}/needs/", "results", analysts(), at(run_url("needs/"))),
    Case(
        "GET",
        f"{V1}/matching/runs/{{run_id}}/needs/{{id}}/",
        "result",
        analysts(),
        at(lambda w: f"{V1}/matching/runs/{w.run.pk}/needs/{w.result.pk}/"),
    ),
    Case("GET", f"{V1}/matching/runs/{{run_id}}/report/", "report", analysts(), at(run_url("report/"))),
    Case(
        "GET",
        f"{V1}/matching/runs/{{run_id}}/compare/",
        "with the baseline",
        analysts(),
        at(lambda w: f"{V1}/matching/runs/{w.run.pk}/compare/?baseline={w.baseline.pk}"),
    ),
    Case("GET", f"{V1}/matching/runs/{{run_id}}/ipa/", "IPA", analysts(), at(run_url("ipa/"))),
    Case("GET", f"{V1}/matching/runs/{{run_id}}/map/", "map", analysts(), at(run_url("map/"))),
    Case(
        "POST",
        f"{V1}/matching/search/",
        "newcomer",
        everyone(),
        at(lambda w: f"{V1}/matching/search/", lambda w: {"text": "place en crèche"}),
    ),
]

# Endpoints the URL resolver serves but the OpenAPI schema leaves out (the schema and its viewers).
OUTSIDE_SCHEMA = {("GET", "/api/schema/"), ("GET", "/api/docs/"), ("GET", "/api/redoc/")}
MATRIX_OPERATIONS = {(case.method, case.path) for case in CASES}


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _check(world: World, case: Case, role: str) -> str | None:
    """One request as `role`; what went wrong, or None."""
    url, body, fmt = case.request(world, role)
    before = fingerprint()
    response = getattr(world.client(role), case.method.lower())(url, body, format=fmt)
    content = _body(response)
    if response.status_code != case.expected[role]:
        return f"{role}: {response.status_code}, expected {case.expected[role]}: {content[:300]!r}"
    if response.status_code >= 400:
        error = response.json()
        if not (error["status"] == response.status_code and error["code"] and error["message"]):
            return f"{role}: not the error format: {error}"
    changed = fingerprint() != before
    if case.writes and response.status_code < 300 and not changed:
        return f"{role}: an accepted write changed nothing"
    if not (case.writes and response.status_code < 300) and changed:
        return f"{role}: a read or a refused request wrote to the database"
    return None


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_matrix(world, case: Case):
    """Every role in turn on the same world, each role's writes rolled back before the next one."""
    problems = []
    for role in ROLES:
        cache.clear()  # throttle counters
        with transaction.atomic():
            problems.append(_check(world, case, role))
            transaction.set_rollback(True)
    assert [problem for problem in problems if problem] == []


def test_every_schema_operation_has_a_case():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (method.upper(), path)
        for path, items in schema["paths"].items()
        for method in items
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations - MATRIX_OPERATIONS == set(), "new operations without an authorisation case"
    assert MATRIX_OPERATIONS - OUTSIDE_SCHEMA - operations == set(), "cases of operations that no longer exist"


def test_every_routed_endpoint_has_a_case():
    """From the URL resolver, not the schema: a view left out of the schema still needs its case."""
    routed = {(method, path.replace("{pk}", "{id}")) for path, method, _ in EndpointEnumerator().get_api_endpoints()}
    routed -= {(method, path) for method, path in routed if method in ("HEAD", "OPTIONS")}
    assert routed == MATRIX_OPERATIONS


# What each role sees: list, filters, full text, export, search, conditional requests -------------------------------


def _keys(world: World, ids) -> set[str]:
    by_id = {offer.pk: key for key, offer in world.offers.items()}
    return {by_id[offer_id] for offer_id in ids}


@pytest.mark.parametrize("role", ROLES)
def test_offer_lists_and_exports_show_each_role_its_offers_only(world, role):
    client = world.client(role)
    expected = visible(role)

    def listed(query: str = "") -> set[str]:
        response = client.get(f"{V1}/offers/?page_size=100{query}")
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == len(body["results"])
        return _keys(world, [row["id"] for row in body["results"]])

    assert listed() == expected
    # Filters narrow what the role may see and never widen it.
    for status in ("draft", "archived", "published"):
        assert listed(f"&status={status}") == {key for key in expected if key.endswith(status)}
    assert listed(f"&organisation={world.organisation_b.slug}") == {key for key in expected if key.startswith("b_")}
    assert listed("&q=creche") == expected
    csv_export = csv.DictReader(io.StringIO(_body(client.get(f"{V1}/offers/export/?format=csv")).decode("utf-8-sig")))
    assert _keys(world, [int(row["id"]) for row in csv_export]) == expected
    json_export = json.loads(_body(client.get(f"{V1}/offers/export/?format=json&status=draft")))
    assert _keys(world, [row["id"] for row in json_export]) == {key for key in expected if key.endswith("draft")}


@pytest.mark.parametrize("role", ROLES)
def test_newcomer_search_ranks_published_offers_only_whoever_asks(world, role):
    response = world.client(role).post(f"{V1}/matching/search/", {"text": "crèche", "limit": 50}, format="json")
    assert response.status_code == 200
    assert _keys(world, [hit["id"] for hit in response.json()["results"]]) == {"a_published", "b_published"}


def test_conditional_requests_reveal_no_draft(world):
    anonymous, editor = world.client("anonymous"), world.client("editor_a")
    draft_url = offer_url("a_draft")(world)
    assert anonymous.get(draft_url, HTTP_IF_NONE_MATCH="*").status_code == 404
    editor_list = editor.get(f"{V1}/offers/")
    assert "Authorization" in editor_list["Vary"]
    # The editor's list (with A's drafts) has its own validator: replaying it anonymously gets the public list.
    replay = anonymous.get(f"{V1}/offers/", HTTP_IF_NONE_MATCH=editor_list["ETag"])
    assert replay.status_code == 200 and replay["ETag"] != editor_list["ETag"]
    assert _keys(world, [row["id"] for row in replay.json()["results"]]) == visible("anonymous")


def test_unknown_and_malformed_ids_are_404_for_every_role(world):
    for role in ROLES:
        client = world.client(role)
        assert client.get(f"{V1}/offers/999999/").status_code == 404
        assert client.get(f"{V1}/offers/not-a-number/").status_code == 404
        patched = client.patch(f"{V1}/offers/999999/", {"title": "x"})
        assert patched.status_code == (401 if role == "anonymous" else 404)


# Real token authentication ------------------------------------------------------------------------------------------


def test_a_token_from_the_token_endpoint_carries_its_role(world):
    for role in ("editor_a", "analyst"):
        issued = world.client("anonymous").post(f"{V1}/auth/token/", token_request(world, role)[1], format="json")
        client = world.client("anonymous")
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
        assert client.get(offer_url("a_draft")(world)).status_code == (200 if role == "editor_a" else 404)
        assert client.get(f"{V1}/needs/").status_code == (403 if role == "editor_a" else 200)


def test_revoked_tokens_and_inactive_users_are_refused_everywhere(world):
    """A token whose user was deactivated, or that was deleted, is a 401 even on public reads (never anonymous)."""
    editor = world.users["editor_a"]
    client = world.client("editor_a")
    editor.is_active = False
    editor.save()
    for url in (f"{V1}/offers/", offer_url("a_draft")(world), f"{V1}/needs/"):
        response = client.get(url)
        assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    editor.is_active = True
    editor.save()
    assert client.get(offer_url("a_draft")(world)).status_code == 200
    Token.objects.filter(user=editor).delete()
    assert client.get(offer_url("a_draft")(world)).status_code == 401

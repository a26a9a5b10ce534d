"""Same rules for every entry point (issue 17, class 2): what the API refuses, the admin, the services, the loaders
and the commands refuse too, with a 4xx (or a form error) that names the field, and nothing written."""

import json

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.exceptions import InvalidInput
from audiences.models import Need, Survey, SurveyItem
from audiences.services import need_update, survey_upsert_from_definition
from offers.models import Audience, Domain, Offer, Theme
from offers.services import audience_create, audience_update, taxonomy_load
from offers.validators import data_inclusion_vocabulary
from tests.audiences.factories import make_need, make_survey, upload
from tests.offers.factories import DATA_INCLUSION_SERVICES
from tests.offers.test_imports import _named

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
PUBLICS = sorted(data_inclusion_vocabulary("publics"))
# Examples share the test's fixtures; each one resets what it may have changed (cache) and writes nothing.
EXAMPLES = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
# Near misses too: lists of real codes with one bad item among them (a number, a list, an unknown code, a repeat).
near_misses = st.lists(st.sampled_from(PUBLICS) | json_values, min_size=1, max_size=5)


def is_valid(value) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(code, str) and code in PUBLICS for code in value)
        and len(set(value)) == len(value)
    )


bad_codes = (json_values | near_misses).filter(lambda value: not is_valid(value))


def state() -> list:
    return list(Audience.objects.order_by("pk").values_list("code", "data_inclusion_codes"))


# data_inclusion_codes: the API, the admin, the services and the taxonomy loader -------------------------------------


@EXAMPLES
@given(codes=bad_codes)
def test_the_api_refuses_every_bad_shape(analyst_client, reference, codes):
    cache.clear()
    before = state()
    body = {"code": "nomades", "label": "Nomades", "data_inclusion_codes": codes}
    created = analyst_client.post(f"{V1}/audiences/", body, format="json")
    changed = analyst_client.patch(f"{V1}/audiences/families/", {"data_inclusion_codes": codes}, format="json")
    for response in (created, changed):
        assert response.status_code == 400, response.json()
        # `data_inclusion_codes.<i>` when the parser refuses a NUL character inside an item first
        assert {error["field"].split(".")[0] for error in response.json()["errors"]} == {"data_inclusion_codes"}
    assert state() == before


def test_the_api_message_names_the_bad_item(analyst_client, reference):
    body = {"code": "nomades", "label": "Nomades", "data_inclusion_codes": ["familles", 3, ["jeunes"], "familles"]}
    message = analyst_client.post(f"{V1}/audiences/", body, format="json").json()["errors"][0]["message"]
    assert "item 1 (3)" in message and 'item 2 (["jeunes"])' in message
    assert 'item 3 ("familles") is given twice' in message
    assert (
        analyst_client.post(f"{V1}/audiences/", {**body, "data_inclusion_codes": 7}, format="json")
        .json()["errors"][0]["message"]
        .startswith("Expected a list of data·inclusion publics codes")
    )
    good = {**body, "data_inclusion_codes": ["familles", "jeunes"]}
    assert analyst_client.post(f"{V1}/audiences/", good, format="json").status_code == 201


@EXAMPLES
@given(codes=bad_codes)
def test_the_admin_refuses_every_bad_shape(admin_user, reference, codes):
    client = Client()
    client.force_login(admin_user)
    before = state()
    body = {"code": "nomades", "label": "Nomades", "data_inclusion_codes": json.dumps(codes), "position": 0}
    response = client.post("/admin/offers/audience/add/", body)
    assert response.status_code == 200  # the form again, with its error
    assert "data_inclusion_codes" in response.context["adminform"].form.errors
    assert state() == before


@EXAMPLES
@given(codes=bad_codes)
def test_the_services_refuse_every_bad_shape(reference, codes):
    before = state()
    with pytest.raises(InvalidInput) as created:  # None means "none given" to this keyword: []
        audience_create(code="nomades", label="Nomades", data_inclusion_codes=codes if codes is not None else 3)
    with pytest.raises(InvalidInput) as changed:
        audience_update(audience=Audience.objects.get(code="families"), values={"data_inclusion_codes": codes})
    for raised in (created, changed):
        assert [error.field for error in raised.value.errors] == ["data_inclusion_codes"]
    assert state() == before


def test_the_taxonomy_loader_refuses_bad_codes(reference):
    before = state(), list(Theme.objects.values_list("code", "data_inclusion_codes"))
    taxonomy = {
        "domains": [{"code": "jobs", "label": "Emploi", "themes": [{"code": "t", "label": "T", "data_inclusion": 5}]}],
        "audiences": [{"code": "families", "label": "Familles", "data_inclusion": [["familles"]]}],
    }
    with pytest.raises(InvalidInput) as raised:
        taxonomy_load(source=taxonomy)
    assert [error.field for error in raised.value.errors] == [
        "domains.0.themes.0.data_inclusion",
        "audiences.0.data_inclusion",
    ]
    assert (state(), list(Theme.objects.values_list("code", "data_inclusion_codes"))) == before


def test_a_legacy_bad_row_no_longer_fails_every_data_inclusion_import(editor_a_client, organisation_a):
    """Rows stored before the check (here written past it) are read as their valid codes: imports keep working."""
    Audience.objects.filter(code="families").update(data_inclusion_codes=[["familles"], 3, "familles"])
    Audience.objects.filter(code="students").update(data_inclusion_codes=7)
    response = editor_a_client.post(
        f"{V1}/offers/import/data-inclusion/",
        {
            "file": _named(json.dumps(DATA_INCLUSION_SERVICES).encode(), "services.json"),
            "organisation": organisation_a.slug,
        },
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert Offer.objects.count() == len(DATA_INCLUSION_SERVICES)


# Surveys and their items ---------------------------------------------------------------------------------------------

ITEM = {"code": "fibre", "domain": "daily-life", "themes": ["childcare"], "statement": "La fibre", "stage": "anchor"}


def survey_state() -> list:
    items = SurveyItem.objects.order_by("pk").values_list("survey_id", "code", "domain_id", "statement", "stage")
    return [list(Survey.objects.order_by("pk").values_list()), list(items), Need.objects.count()]


def test_patch_of_an_item_without_its_domain_is_a_400(analyst_client, reference):
    survey = make_survey()
    before = survey_state()
    item = {key: value for key, value in ITEM.items() if key != "domain"}
    response = analyst_client.patch(f"{V1}/surveys/{survey.pk}/", {"title": "Nouveau", "items": [item]}, format="json")
    assert response.status_code == 400, response.json()
    assert ("items.0.domain", "required") in [(e["field"], e["code"]) for e in response.json()["errors"]]
    assert survey_state() == before


@EXAMPLES
@given(
    missing=st.sets(st.sampled_from(sorted(ITEM))),
    method=st.sampled_from(["post", "patch", "put"]),
    existing=st.booleans(),
)
def test_items_missing_any_field_never_give_a_500(analyst_client, reference, missing, method, existing):
    """Every subset of an item's fields, on create, replace and partial update, for a new item or an existing one
    (`creche`): a 2xx, or a 400 naming `items.0.<field>` with nothing written."""
    cache.clear()
    survey = Survey.objects.filter(reference="ENQ-2025").first() or make_survey()
    before = survey_state()
    item = {
        key: value for key, value in {**ITEM, "code": "creche" if existing else "fibre"}.items() if key not in missing
    }
    body = {"title": "Enquête", "date": "2025-05-01", "items": [item]}
    url = f"{V1}/surveys/" if method == "post" else f"{V1}/surveys/{survey.pk}/"
    response = getattr(analyst_client, method)(url, body, format="json")
    assert response.status_code in (200, 201, 400), response.json()
    if response.status_code == 400:
        assert all(error["field"].startswith("items.0") for error in response.json()["errors"]), response.json()
        assert survey_state() == before
    else:
        Survey.objects.exclude(pk=survey.pk).delete()
        SurveyItem.objects.filter(survey=survey).delete()
        survey.delete()  # the next example starts from the factory's survey again


def test_every_item_rule_is_the_services_own(analyst_client, reference):
    survey = make_survey()
    before = survey_state()
    items = [
        {**ITEM, "measures_importance": False, "measures_satisfaction": False},
        {**ITEM, "code": "gite", "domain": "tourism"},  # childcare is not a tourism theme
        {**ITEM, "code": "fibre"},
    ]
    response = analyst_client.put(
        f"{V1}/surveys/{survey.pk}/", {"title": "T", "date": "2025-01-01", "items": items}, format="json"
    )
    assert response.status_code == 400
    fields = {(error["field"], error["code"]) for error in response.json()["errors"]}
    assert fields == {("items.0", "invalid"), ("items.1.themes", "invalid_theme"), ("items.2.code", "duplicate")}
    assert survey_state() == before


def test_a_survey_definition_with_bad_values_is_refused(reference):
    before = survey_state()
    with pytest.raises(InvalidInput) as raised:
        survey_upsert_from_definition(definition={"date": "hier", "scale_max": "cinq", "items": [{"code": "x"}]})
    assert {error.field for error in raised.value.errors} == {"title", "date", "scale_max", "items.0.domain"}
    assert survey_state() == before


def test_a_need_moved_to_another_domain_keeps_no_foreign_theme(analyst_client, reference):
    """Checked by the service (the API's serializer used to check it alone): PATCH and the service say `themes`."""
    need = make_need(themes=("childcare",))
    response = analyst_client.patch(f"{V1}/needs/{need.pk}/", {"domain": "housing"}, format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("themes", "invalid_theme")]
    with pytest.raises(InvalidInput):
        need_update(need=Need.objects.get(pk=need.pk), values={"domain": Domain.objects.get(code="housing")})
    assert Need.objects.get(pk=need.pk).domain.code == "daily-life"
    changed = {"domain": "housing", "themes": ["rent"]}
    assert analyst_client.patch(f"{V1}/needs/{need.pk}/", changed, format="json").status_code == 200


# The admin applies the rules the API and the services apply ----------------------------------------------------------


def test_the_admin_refuses_a_need_theme_of_another_domain(admin_user, reference):
    client = Client()
    client.force_login(admin_user)
    body = {
        "audience": Audience.objects.get(code="families").pk,
        "domain": Theme.objects.get(code="rent").domain_id,
        "themes": [Theme.objects.get(code="childcare").pk],
        "statement": "Un logement",
        "stage": "anchor",
        "importance": 0.5,
        "source": "workshop",
    }
    before = Need.objects.count()
    response = client.post("/admin/audiences/need/add/", body)
    assert response.status_code == 200
    assert "themes" in response.context["adminform"].form.errors
    assert Need.objects.count() == before


def test_the_admin_keeps_the_scale_of_a_survey_with_responses(admin_user, analyst_client, reference):
    survey = make_survey()
    upload(analyst_client, survey, "respondent_id,audience,item,importance\na,families,creche,4\n")
    client = Client()
    client.force_login(admin_user)
    items = list(survey.items.all())
    body = {
        "title": survey.title,
        "reference": survey.reference,
        "date": survey.date.isoformat(),
        "audiences": [audience.pk for audience in survey.audiences.all()],
        "scale_min": 1,
        "scale_max": 7,
        "items-TOTAL_FORMS": len(items),
        "items-INITIAL_FORMS": len(items),
    }
    for index, item in enumerate(items):
        body |= {
            f"items-{index}-id": item.pk,
            f"items-{index}-survey": survey.pk,
            f"items-{index}-code": item.code,
            f"items-{index}-domain": item.domain_id,
            f"items-{index}-themes": [theme.pk for theme in item.themes.all()],
            f"items-{index}-statement": item.statement,
            f"items-{index}-measures_importance": "on",
            f"items-{index}-stage": item.stage,
        }
    response = client.post(f"/admin/audiences/survey/{survey.pk}/change/", body)
    assert response.status_code == 200
    assert "scale_max" in response.context["adminform"].form.errors
    survey.refresh_from_db()
    assert survey.scale_max == 5

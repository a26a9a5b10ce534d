"""Needs written by hand through the API: created, changed and deleted; needs computed from a survey are read-only."""

from django.db import transaction
from django.utils.translation import gettext

from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.model_update import model_full_clean, model_update
from api.text import fold_text
from audiences.models import Need
from offers.models import Domain, Theme
from offers.selectors import analyst_scope


def need_themes_check(*, domain: Domain | None, themes: list[Theme]) -> list[str]:
    """Theme codes that do not belong to the need's domain (a theme of another domain is a classification error)."""
    if domain is None:
        return []
    return [theme.code for theme in themes if theme.domain_id != domain.pk]


def _need_save(need: Need, *, themes: list[Theme] | None) -> Need:
    """Check and save a need whose values are set, and its themes when given."""
    need.search_text = fold_text(need.statement)
    # The themes kept when only the domain changes must belong to it too.
    kept = themes if themes is not None else (list(need.themes.all()) if need.pk else [])
    if need.domain_id is not None:
        foreign = need_themes_check(domain=need.domain, themes=kept)
        if foreign:
            raise InvalidInput(
                [
                    ErrorItem(
                        field="themes",
                        code="invalid_theme",
                        message=gettext("Theme(s) %(themes)s do not belong to the domain %(domain)r.")
                        % {"themes": ", ".join(foreign), "domain": need.domain.code},
                    )
                ]
            )
    model_full_clean(instance=need)
    need.save()
    if themes is not None:
        need.themes.set(themes)
    return need


def _computed_guard(need: Need) -> None:
    if need.survey_item_id:
        raise Conflict(
            gettext(
                "This need is computed from survey responses; change the survey or upload its responses again instead."
            )
        )


@transaction.atomic
def need_create(*, values: dict, themes: list[Theme], user=None) -> Need:
    """Create a need from validated values (Need fields; model instances for relations). With `user` (an API
    caller), its territory must lie within theirs; none given means their territory when they have exactly one."""
    if user is not None:
        scope = analyst_scope(user=user)
        values = {
            **values,
            "territory": scope.territory_check(values.get("territory"), field="territory", default=True),
        }
    return _need_save(Need(**values), themes=themes)


@transaction.atomic
def need_update(*, need: Need, values: dict, themes: list[Theme] | None = None, user=None) -> Need:
    """Update a hand-made need; needs computed from a survey are refused (409) since the next upload rewrites them.
    With `user`, a new territory must lie within theirs (a need is not moved out of one's territories)."""
    _computed_guard(need)
    if user is not None and "territory" in values:
        analyst_scope(user=user).territory_check(values["territory"], field="territory")
    model_update(instance=need, data=values, save=False)
    return _need_save(need, themes=themes)


@transaction.atomic
def need_delete(*, need: Need) -> None:
    _computed_guard(need)
    need.delete()

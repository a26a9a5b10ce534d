"""Survey waves: the next wave of a survey, created with the previous wave's items, audiences, territory and
wide-file mapping, so the analyst only uploads the new file."""

import datetime

from django.db import transaction
from django.utils.translation import gettext

from api.exceptions import ErrorItem, InvalidInput
from api.model_update import model_full_clean
from audiences.models import Survey, SurveyItem

# What an item carries over to the next wave (its code keeps it comparable; its responses stay with its wave).
WAVE_ITEM_FIELDS = (
    "code",
    "domain_id",
    "statement",
    "measures_importance",
    "measures_satisfaction",
    "stage",
    "importance_scale_min",
    "importance_scale_max",
    "satisfaction_scale_min",
    "satisfaction_scale_max",
)


@transaction.atomic
def survey_wave_create(
    *, survey: Survey, title: str, date: datetime.date, reference: str = "", created_by=None
) -> Survey:
    """Create the wave following `survey`: a new survey whose `previous_wave` is `survey`, with its scale,
    territory, mapping, audiences and items (with their themes and scales) copied. Its date must be later."""
    if date <= survey.date:
        raise InvalidInput(
            [
                ErrorItem(
                    field="date",
                    code="not_after_previous_wave",
                    message=gettext("The next wave must be dated after the previous one (%(date)s).")
                    % {"date": survey.date.isoformat()},
                )
            ]
        )
    wave = Survey(
        title=title,
        reference=reference,
        date=date,
        scale_min=survey.scale_min,
        scale_max=survey.scale_max,
        territory_id=survey.territory_id,
        mapping=survey.mapping,
        previous_wave=survey,
        created_by=created_by,
    )
    model_full_clean(instance=wave)
    wave.save()
    wave.audiences.set(survey.audiences.all())
    items = list(survey.items.prefetch_related("themes").order_by("code"))
    copies = SurveyItem.objects.bulk_create(
        [SurveyItem(survey=wave, **{name: getattr(item, name) for name in WAVE_ITEM_FIELDS}) for item in items]
    )
    through = SurveyItem.themes.through
    through.objects.bulk_create(
        [
            through(surveyitem_id=copy.pk, theme_id=theme.pk)
            for item, copy in zip(items, copies, strict=True)
            for theme in item.themes.all()
        ]
    )
    return wave

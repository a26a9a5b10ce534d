"""Results keep the journey stage of their need (a report dimension); results already stored take their need's
current stage, those whose need is gone stay "" (shown as "stage not given")."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def stage_backfill(apps, schema_editor):
    NeedResult = apps.get_model("matching", "NeedResult")
    Need = apps.get_model("audiences", "Need")
    NeedResult.objects.filter(need__isnull=False).update(
        stage=Subquery(Need.objects.filter(id=OuterRef("need_id")).values("stage")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0003_survey_wide_files_waves_open_answers"),
        ("matching", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="needresult",
            name="stage",
            field=models.CharField(
                blank=True,
                choices=[("attract", "Attirer"), ("welcome", "Accueillir"), ("anchor", "Ancrer")],
                max_length=16,
            ),
        ),
        migrations.RunPython(stage_backfill, migrations.RunPython.noop, elidable=True),
    ]

from django.db import migrations, models
from django.db.models import F


def backfill(apps, schema_editor):
    # Responses stored so far all weigh 1: the weighted and effective counts are the plain counts.
    Need = apps.get_model("audiences", "Need")
    Need.objects.filter(survey_item__isnull=False).update(
        weighted_response_count=F("response_count"),
        effective_response_count=F("response_count"),
        satisfaction_effective_response_count=F("satisfaction_response_count"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0003_survey_wide_files_waves_open_answers"),
    ]

    operations = [
        migrations.AddField(
            model_name="need",
            name="effective_response_count",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="need",
            name="satisfaction_effective_response_count",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="need",
            name="weighted_response_count",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

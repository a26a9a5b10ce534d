"""PostgreSQL full-text search for offers: a French, accent-insensitive configuration, a generated tsvector and its
GIN index. Nothing on SQLite, where the `q` filter falls back to the folded `search_text` column."""

from django.db import migrations

CONFIGURATION = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'french_unaccent') THEN
        CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
        ALTER TEXT SEARCH CONFIGURATION french_unaccent
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
            WITH unaccent, french_stem;
    END IF;
END
$$;
"""

# The title weighs more than the rest (description, theme labels and vocabulary, already folded in search_text).
SEARCH_VECTOR = """
ALTER TABLE offers_offer ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('french_unaccent'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('french_unaccent'::regconfig, coalesce(search_text, '')), 'B')
) STORED;
CREATE INDEX offer_search_vector_idx ON offers_offer USING GIN (search_vector);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema_editor.execute(CONFIGURATION)
    schema_editor.execute(SEARCH_VECTOR)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS offer_search_vector_idx")
    schema_editor.execute("ALTER TABLE offers_offer DROP COLUMN IF EXISTS search_vector")
    # The configuration and the extension may serve others; they are harmless to keep.


class Migration(migrations.Migration):
    dependencies = [("offers", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]

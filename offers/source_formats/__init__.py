"""Readers of the national open formats a source publishes its records in (CONTRACTS §5): France Travail job
offers, DATAtourisme points of interest, OpenAgenda events and data·inclusion services.

Each reader turns a file's bytes into `SourceRecord`s (what the record says, in our vocabulary where the format
alone decides it) and `RecordSkip`s (a record that cannot be used, with a stable code and a translated message),
or raises `FormatError` when the whole file is unusable (before yielding anything: a reader decodes the whole
document first). A reader yields exactly one result per record, in file order: the n-th result is record n, which
is how the sync numbers a record it skips later (unmapped theme, unknown commune).

What the readers leave to the sync: communes (`commune_code` as given, possibly of a merged commune; else
`postal_code`; else `commune_name`, which France Travail writes "GUERET (23)" as `communes_resolve` reads it),
service areas (`FR`, `departement:23`, `region:75`, EPCI and commune codes: département and région codes are
qualified since they overlap), themes (`categories` through the source's mapping over `default_theme_mapping`,
`categories_themes`), and the domain when the format does not decide it (`domain_pick`: the domain most themes
belong to, ties to the first listed, as every import does). Pure Python: no ORM, no Django import.
"""

from offers.source_formats.base import (
    FRANCE,
    FormatError,
    RecordSkip,
    SourceFormat,
    SourceRecord,
    categories_themes,
    domain_pick,
    theme_domains,
)
from offers.source_formats.data_inclusion import DATA_INCLUSION, DataInclusionFormat
from offers.source_formats.datatourisme import DATATOURISME, DatatourismeFormat
from offers.source_formats.france_travail import FRANCE_TRAVAIL, FranceTravailFormat
from offers.source_formats.openagenda import OPENAGENDA, OpenAgendaFormat

SOURCE_FORMATS: dict[str, SourceFormat] = {
    source_format.code: source_format for source_format in (FRANCE_TRAVAIL, DATATOURISME, OPENAGENDA, DATA_INCLUSION)
}

__all__ = [
    "DATATOURISME",
    "DATA_INCLUSION",
    "FRANCE",
    "FRANCE_TRAVAIL",
    "OPENAGENDA",
    "SOURCE_FORMATS",
    "DataInclusionFormat",
    "DatatourismeFormat",
    "FormatError",
    "FranceTravailFormat",
    "OpenAgendaFormat",
    "RecordSkip",
    "SourceFormat",
    "SourceRecord",
    "categories_themes",
    "domain_pick",
    "theme_domains",
]

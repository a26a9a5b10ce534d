"""Writes of the offers app, one module per seam; every public name is re-exported here, so callers read
`offers.services.offer_create` whatever module holds it.

- reference_data: territories, taxonomy and audiences, and the catalogue version every write bumps;
- lookups: the code -> object cache of every upload;
- offers, organisations: the rules of an offer and the writes of offers and organisations;
- imports, data_inclusion: the tabular and data·inclusion offer imports;
- demo: the demo catalogue.
"""

from offers.services.custom_territories import (
    CUSTOM_TERRITORY_CODE,
    custom_territory_check,
    custom_territory_create,
    custom_territory_delete,
    custom_territory_figures,
    custom_territory_members_resolve,
    custom_territory_update,
    custom_territory_usage,
)
from offers.services.data_inclusion import DATA_INCLUSION_SCHEMA, data_inclusion_columns, data_inclusion_service_map
from offers.services.demo import DEMO_DIR, DEMO_EDITOR_ORGANISATION_TERRITORY, offers_demo_load
from offers.services.imports import (
    IMPORT_FORMATS,
    IMPORT_MAX_BYTES,
    IMPORT_MAX_ROWS,
    OFFER_IMPORT_COLUMNS,
    OfferImportReport,
    ProgressCallback,
    offers_import,
)
from offers.services.lookups import CodeLookups
from offers.services.offers import (
    OFFER_INPUT_FIELDS,
    OFFER_M2M_FIELDS,
    OFFER_RELATION_FIELDS,
    OFFER_SCALAR_FIELDS,
    OfferDraft,
    offer_can_edit,
    offer_create,
    offer_delete,
    offer_search_text,
    offer_search_text_refresh,
    offer_update,
    offer_validate,
)
from offers.services.organisations import (
    ORGANISATION_CONTACT_FIELDS,
    ORGANISATION_FIELDS,
    organisation_delete,
    organisation_save,
)
from offers.services.reference_data import (
    COMMUNE_CODE,
    DATA_DIR,
    DEFAULT_EPCI_NAMES,
    DEFAULT_GEOJSON,
    DEFAULT_TAXONOMY,
    DEPARTEMENT_CODE,
    EPCI_CODE,
    INSEE_NAMES,
    REGION_CODE,
    LoadProgress,
    LoadReport,
    audience_create,
    audience_delete,
    audience_update,
    catalogue_changed,
    polygon_centroid,
    taxonomy_load,
    territories_load_france,
    territories_load_geojson,
)

__all__ = [
    "COMMUNE_CODE",
    "CUSTOM_TERRITORY_CODE",
    "custom_territory_check",
    "custom_territory_create",
    "custom_territory_delete",
    "custom_territory_figures",
    "custom_territory_members_resolve",
    "custom_territory_update",
    "custom_territory_usage",
    "DATA_DIR",
    "DATA_INCLUSION_SCHEMA",
    "DEFAULT_EPCI_NAMES",
    "DEFAULT_GEOJSON",
    "DEFAULT_TAXONOMY",
    "DEMO_DIR",
    "DEMO_EDITOR_ORGANISATION_TERRITORY",
    "DEPARTEMENT_CODE",
    "EPCI_CODE",
    "IMPORT_FORMATS",
    "IMPORT_MAX_BYTES",
    "IMPORT_MAX_ROWS",
    "INSEE_NAMES",
    "OFFER_IMPORT_COLUMNS",
    "OFFER_INPUT_FIELDS",
    "OFFER_M2M_FIELDS",
    "OFFER_RELATION_FIELDS",
    "OFFER_SCALAR_FIELDS",
    "ORGANISATION_CONTACT_FIELDS",
    "ORGANISATION_FIELDS",
    "REGION_CODE",
    "CodeLookups",
    "LoadProgress",
    "LoadReport",
    "OfferDraft",
    "OfferImportReport",
    "ProgressCallback",
    "audience_create",
    "audience_delete",
    "audience_update",
    "catalogue_changed",
    "data_inclusion_columns",
    "data_inclusion_service_map",
    "offer_can_edit",
    "offer_create",
    "offer_delete",
    "offer_search_text",
    "offer_search_text_refresh",
    "offer_update",
    "offer_validate",
    "offers_demo_load",
    "offers_import",
    "organisation_delete",
    "organisation_save",
    "polygon_centroid",
    "taxonomy_load",
    "territories_load_france",
    "territories_load_geojson",
]

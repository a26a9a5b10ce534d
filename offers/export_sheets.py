"""The offers export as an XLSX sheet: each column's type, meaning and unit (headers are the CSV's, in
`offers.views.EXPORT_COLUMNS` order)."""

from django.utils.translation import gettext_lazy as _

from api.spreadsheets import BOOLEAN, DATE, DATETIME, DECIMAL, INTEGER, SpreadsheetColumn

OFFER_SHEET_TITLE = _("Offers")

OFFER_SHEET_COLUMNS = [
    SpreadsheetColumn("id", _("Identifier of the offer in Ancrage"), kind=INTEGER),
    SpreadsheetColumn("title", _("Title of the offer"), width=40),
    SpreadsheetColumn("description", _("Description of the offer"), width=60),
    SpreadsheetColumn("domain", _("Domain code (taxonomy)")),
    SpreadsheetColumn("themes", _("Theme codes, separated by |")),
    SpreadsheetColumn("organisation", _("Slug of the organisation providing the offer")),
    SpreadsheetColumn("commune", _("INSEE code of the commune where the offer is (empty: no place)")),
    SpreadsheetColumn("commune_name", _("Name of that commune")),
    SpreadsheetColumn("latitude", _("Latitude of the place"), _("decimal degrees (WGS 84)"), DECIMAL, decimals=6),
    SpreadsheetColumn("longitude", _("Longitude of the place"), _("decimal degrees (WGS 84)"), DECIMAL, decimals=6),
    SpreadsheetColumn("remote", _("Whether the offer is delivered at a distance"), kind=BOOLEAN),
    SpreadsheetColumn("service_area", _("Qualified codes of the territories served, separated by |")),
    SpreadsheetColumn("audiences", _("Audience codes, separated by |")),
    SpreadsheetColumn("is_free", _("Whether the offer is free"), kind=BOOLEAN),
    SpreadsheetColumn("price_amount", _("Price"), _("euros"), DECIMAL),
    SpreadsheetColumn("price_details", _("Details of the price")),
    SpreadsheetColumn("capacity", _("Capacity"), _("see capacity_unit"), INTEGER),
    SpreadsheetColumn("capacity_unit", _("Unit of the capacity")),
    SpreadsheetColumn("available_from", _("First day the offer is available"), kind=DATE),
    SpreadsheetColumn("available_until", _("Last day the offer is available"), kind=DATE),
    SpreadsheetColumn("status", _("Publication status code")),
    SpreadsheetColumn("url", _("Web page of the offer"), width=40),
    SpreadsheetColumn("contact", _("Contact")),
    SpreadsheetColumn("accessibility", _("Accessibility information")),
    SpreadsheetColumn("source", _("Source the offer was imported from")),
    SpreadsheetColumn("external_id", _("Identifier of the offer in its source")),
    SpreadsheetColumn("updated_at", _("Last change"), _("date and time (Paris)"), DATETIME),
    SpreadsheetColumn("distance_km", _("Distance from the point searched"), _("km"), DECIMAL, decimals=3),
]

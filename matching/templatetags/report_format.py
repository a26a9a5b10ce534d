"""Template filters of the report documents: shares as percentages, in the active language's number format."""

from django import template
from django.utils import formats
from django.utils.translation import gettext

register = template.Library()


@register.filter
def percent(value, decimals: int = 0) -> str:
    """0.405 -> "41 %" in French ("41%" in English): a share on the unit scale as a percentage; "–" when unknown."""
    if value is None or value == "":
        return "–"
    number = formats.number_format(float(value) * 100, decimal_pos=int(decimals), use_l10n=True)
    return gettext("%(number)s%%") % {"number": number}

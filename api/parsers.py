"""The JSON parser of every endpoint: DRF's, refusing the NUL character that no text column can store.

PostgreSQL text cannot hold U+0000: a NUL inside any JSON string (a field, a lookup code, a list item, a key) would
reach the database as a 500 on PostgreSQL and be stored on SQLite. It is refused here, once for every endpoint,
with the path of each string that holds one.
"""

from rest_framework import parsers

NUL = "\x00"


def nul_paths(data, path: str = "") -> list[str]:
    """Paths (`items.2.themes.0`, `title`) of the strings and keys of a parsed JSON document that contain a NUL."""
    found = []
    if isinstance(data, str):
        if NUL in data:
            found.append(path or "(body)")
    elif isinstance(data, dict):
        for key, value in data.items():
            child = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                found.append(child)
            found.extend(nul_paths(value, child))
    elif isinstance(data, list):
        for position, value in enumerate(data):
            found.extend(nul_paths(value, f"{path}.{position}" if path else str(position)))
    return found


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # api.exceptions imports DRF's views, which load this parser from the settings: import it when parsing.
        from api.exceptions import ErrorItem, InvalidInput

        data = super().parse(stream, media_type, parser_context)
        paths = nul_paths(data)
        if paths:
            raise InvalidInput(
                [
                    ErrorItem(
                        field=path.replace(NUL, "\\u0000"),
                        code="null_character",
                        message="Text cannot contain the NUL character (U+0000).",
                    )
                    for path in paths
                ]
            )
        return data

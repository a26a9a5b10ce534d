"""What every service does to a model before it writes: set the fields and say what changed (HackSoft's
`model_update`), and validate with every problem reported at once."""

from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from api.exceptions import ErrorItem, InvalidInput

ModelT = TypeVar("ModelT", bound=models.Model)


def _stored(instance: models.Model, name: str, value: Any) -> tuple[Any, Any]:
    """The stored value of field `name` and `value` in the same terms: a relation compares by id (no query)."""
    field = instance._meta.get_field(name)
    if field.is_relation and field.concrete and (value is None or isinstance(value, models.Model)):
        return getattr(instance, field.attname), None if value is None else value.pk
    return getattr(instance, name), value


def model_update(*, instance: ModelT, data: Mapping[str, Any], save: bool = True) -> tuple[ModelT, list[str]]:
    """Set the concrete fields in `data` on `instance`; return it with the names of those whose value changed.

    With `save`, only the changed fields (and the `auto_now` ones) are written, and nothing when none changed;
    without, the caller validates and saves.
    """
    changed = []
    for name, value in data.items():
        stored, given = _stored(instance, name, value)
        if stored != given:
            setattr(instance, name, value)
            changed.append(name)
    if save and changed:
        auto_now = [field.name for field in instance._meta.concrete_fields if getattr(field, "auto_now", False)]
        instance.save(update_fields=changed + [name for name in auto_now if name not in changed])
    return instance, changed


def validation_messages(exc: ValidationError) -> dict[str, list[str]]:
    """Django's ValidationError as {field: [messages]}; errors of no field under "__all__"."""
    if hasattr(exc, "error_dict"):
        return {
            field: [str(message) for error in errors for message in error.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"__all__": list(exc.messages)}


def model_full_clean(*, instance: models.Model, **options) -> None:
    """`instance.full_clean(**options)`, its errors raised as one InvalidInput (400) listing every field."""
    try:
        instance.full_clean(**options)
    except ValidationError as exc:
        raise InvalidInput(
            [
                ErrorItem(field=field, message=message)
                for field, messages in validation_messages(exc).items()
                for message in messages
            ]
        ) from exc

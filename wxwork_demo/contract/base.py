"""The two kinds of model: what a request carries (`Body`, also used for query strings) and what a
reply holds (`Reply`, and its parts `Part`).

A `Body` reads the wire as the old demo's clients write it: a field may have aliases (the first one
present and not null wins: `send_userid` or `sendUserid`), null means "not given", unknown fields are
ignored, and every field's reader runs even when the field is absent (so "is required" and defaults are
decided by the field types in `fields.py`, in one place). Models hold Python names; the wire names are
the field's `alias` (and `validation_alias` for alternatives), documented as properties of the body.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


def _wire_names(info: Any, name: str) -> tuple[str, ...]:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    return (info.alias or name,)


def _document_body(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Properties under their wire names (aliases as properties of their own), and `required` as the body's
    rules say (not pydantic's: every field has a reader that decides what "not given" means)."""
    if not issubclass(model, Body):
        raise TypeError(f"{model.__name__} is not a request body model")
    generated = schema.get("properties", {})
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, info in model.model_fields.items():
        names = _wire_names(info, name)
        field_schema = generated.get(name, generated.get(names[0], {}))
        properties[names[0]] = field_schema
        for alias in names[1:]:
            properties[alias] = {**field_schema, "description": f"Alias of {names[0]}."}
        if name in model.REQUIRED:
            if len(names) == 1:
                required.append(names[0])
            else:
                schema["anyOf"] = [{"required": [alias]} for alias in names]
    schema["properties"] = properties
    schema.pop("required", None)
    if required:
        schema["required"] = required
    model.document(schema)


class Body(BaseModel):
    """A request body or query string, read leniently as the local API promises (see the module)."""

    model_config = ConfigDict(
        extra="ignore", validate_by_name=True, validate_by_alias=False, frozen=True, json_schema_extra=_document_body
    )
    # The fields a client must send (documented as required; their readers refuse "not given").
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _read_wire_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {name: value for name, value in cls.prepare(data).items()}

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Python names from wire names: every field present (None when not given), so every reader runs."""
        return {name: cls.given(data, name)[1] for name in cls.model_fields}

    @classmethod
    def document(cls, schema: dict[str, Any]) -> None:
        """Add to the generated schema what the fields alone do not say (e.g. fields read in `prepare`)."""

    @classmethod
    def given(cls, data: dict[str, Any], name: str) -> tuple[str, Any]:
        """The wire name used for field `name` in `data` and its value: the first alias present and not
        null, else (the first alias, None)."""
        names = _wire_names(cls.model_fields[name], name)
        for wire_name in names:
            if data.get(wire_name) is not None:
                return wire_name, data[wire_name]
        return names[0], None

    @classmethod
    def wire_name(cls, data: Any, loc: tuple[int | str, ...]) -> str:
        """The name a client knows for the field at `loc` (a nested field as `inner.limit`)."""
        model: type[Body] = cls
        parts: list[str] = []
        for step in loc:
            info = model.model_fields.get(str(step)) if isinstance(step, str) else None
            if info is None:
                parts.append(str(step))
                continue
            used, value = model.given(data, str(step)) if isinstance(data, dict) else (str(step), None)
            parts.append(used)
            data = value
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, Body):
                model = annotation
        return ".".join(parts) or "body"


def _is_none(value: Any) -> bool:
    return value is None


def optional(description: str = "") -> Any:
    """A reply field left out of the JSON when it is None (and documented as optional)."""
    return Field(None, exclude_if=_is_none, description=description or None)


def _document_reply(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Fields left out when None are not required."""
    optional_names = {
        info.serialization_alias or info.alias or name
        for name, info in model.model_fields.items()
        if info.exclude_if is not None
    }
    required = [name for name in schema.get("required", []) if name not in optional_names]
    schema.pop("required", None)
    if required:
        schema["required"] = required


class Part(BaseModel):
    """A part of a reply: Python names, camelCase on the wire, more fields allowed; every field is always
    there except those declared `optional()`."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        serialize_by_alias=True,
        extra="allow",
        frozen=True,
        json_schema_serialization_defaults_required=True,
        json_schema_extra=_document_reply,
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict of this model, as it goes on the wire."""
        return self.model_dump(mode="json", by_alias=True)

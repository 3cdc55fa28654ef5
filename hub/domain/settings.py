"""A channel's settings as a pydantic model: validation, secrets and the admin form, from one place.

A connector declares its settings as a model whose fields are made with ``setting()``, which
adds what the admin page needs to draw the form (labels and help in every language, which fields
are secret, which can be generated). The hub validates with the model, masks the secret fields in
the API, encrypts them at rest, and serves the JSON Schema at ``/channel-kinds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic import Field as _Field
from pydantic_core import PydanticUndefined

from hub.domain.errors import InvalidInput
from hub.domain.texts import Text, missing_languages

#: values the admin page can generate for a field: a console Token, an EncodingAESKey
Generator = Literal["token", "aes_key"]


def setting(
    default: Any = PydanticUndefined,
    *,
    label: Text,
    help: Text | None = None,
    secret: bool = False,
    generate: Generator | None = None,
    multiline: bool = False,
    placeholder: str | None = None,
    widget: Literal["color", "lines", "audio", "image"] | None = None,
    destination: bool | tuple[str, ...] = False,
    **constraints: Any,
) -> Any:
    """A settings field with the metadata the admin form is drawn from.

    ``secret``: encrypted at rest, masked in the API, typed into a password box.
    ``widget``: ``color`` for a colour picker; ``lines`` for a list typed one item per line;
    ``audio`` for a sound file, ``image`` for a picture the admin uploads
    (``POST /api/v1/channel-files``): the value is the stored file's key, served publicly at
    ``/channel-files/{channel id}/{key}`` (a phone greeting the provider plays, a widget's logo).
    ``destination``: a URL or host the hub sends the channel's secrets to (a provider's API
    address, a mail server): checked against ``hub.domain.destinations``, and changing it
    requires the secrets again: all of them, or only those named (a mail server's password).
    ``constraints`` are pydantic's (``max_length``, ``pattern``, ``default_factory``, ...).
    """
    extra: dict[str, Any] = {"x-label": dict(label)}
    if help is not None:
        extra["x-help"] = dict(help)
    if secret:
        extra["x-secret"] = True
    if generate is not None:
        extra["x-generate"] = generate
    if multiline:
        extra["x-multiline"] = True
    if placeholder is not None:
        extra["x-placeholder"] = placeholder
    if widget is not None:
        extra["x-widget"] = widget
    if destination:
        extra["x-destination"] = list(destination) if isinstance(destination, tuple) else True
    return _Field(default, json_schema_extra=extra, **constraints)


def _extra(model: type[BaseModel], name: str) -> dict[str, Any]:
    extra = model.model_fields[name].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def secret_names(model: type[BaseModel]) -> frozenset[str]:
    """The fields that are secrets: encrypted at rest and masked in the API."""
    return frozenset(name for name in model.model_fields if _extra(model, name).get("x-secret"))


def file_names(model: type[BaseModel]) -> frozenset[str]:
    """The fields holding a stored file's key (``widget="audio"`` or ``"image"``)."""
    return frozenset(
        name
        for name in model.model_fields
        if _extra(model, name).get("x-widget") in ("audio", "image")
    )


#: what a file setting holds: a storage key as ``BlobStorage.put`` makes them
FILE_KEY = r"^[0-9a-f]{4}/[A-Za-z0-9_-]{24}$"


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


#: a file setting that may be empty (the form sends "" for none)
OptionalFileKey = Annotated[
    Annotated[str, _Field(pattern=FILE_KEY)] | None, BeforeValidator(_blank_is_none)
]


def destination_names(model: type[BaseModel]) -> frozenset[str]:
    """The fields naming where the channel's secrets are sent."""
    return frozenset(
        name for name in model.model_fields if _extra(model, name).get("x-destination")
    )


def destination_secrets(model: type[BaseModel], name: str) -> frozenset[str]:
    """The secrets sent to the destination ``name``: to be typed again when it changes."""
    sent = _extra(model, name).get("x-destination")
    return frozenset(sent) if isinstance(sent, list) else secret_names(model)


def validate_settings(model: type[BaseModel], settings: object) -> dict[str, Any]:
    """The normalised settings, JSON-ready; or ``InvalidInput`` naming the first bad field."""
    if not isinstance(settings, Mapping):
        raise InvalidInput("settings must be an object")
    try:
        return model.model_validate(dict(settings)).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"settings.{where}: {message}" if where else message) from None


def settings_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema, flattened for a form: no ``$ref``, optional fields as their type.

    ``Optional[X]`` becomes X with ``"x-nullable": true``, so the page needs no union logic.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    properties: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        properties[name] = _flatten(prop, defs)
    return {
        "type": "object",
        "title": schema.get("title", model.__name__),
        "properties": properties,
        "required": list(schema.get("required", [])),
        "additionalProperties": schema.get("additionalProperties", True),
    }


def _flatten(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    prop = dict(prop)
    ref = prop.pop("$ref", None)
    if isinstance(ref, str):
        prop = {**defs.get(ref.rsplit("/", 1)[-1], {}), **prop}
    options = prop.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1 and len(kept) < len(options):
            del prop["anyOf"]
            prop = {**_flatten(kept[0], defs), **prop, "x-nullable": True}
    if isinstance(prop.get("items"), dict):
        prop["items"] = _flatten(prop["items"], defs)
    return prop


def settings_model_problems(model: object) -> list[str]:
    """What is wrong with a would-be settings model (empty when it is usable)."""
    if not isinstance(model, type) or not issubclass(model, BaseModel):
        return ["its settings are not a pydantic model"]
    problems: list[str] = []
    try:
        properties = settings_schema(model)["properties"]
    except Exception as exc:  # any failure here makes the model unusable for the form
        return [f"its settings model has no JSON Schema: {exc}"]
    for name in model.model_fields:
        extra = _extra(model, name)
        lacking = missing_languages(extra.get("x-label"))
        if lacking:
            problems.append(f"setting {name!r} has no label in {', '.join(lacking)}")
        if extra.get("x-secret") and properties.get(name, {}).get("type") != "string":
            # a secret is masked as text in the API: only text can round-trip
            problems.append(f"secret setting {name!r} must be text")
    return problems

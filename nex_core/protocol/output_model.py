"""A pydantic model that stands for a JSON Schema, for frameworks that want a type.

AutoGen (``output_content_type``), the OpenAI Agents SDK (``output_type``) and Agent Framework
(``response_format``) take the answer's type as a pydantic model. Translating a JSON Schema into
typed fields loses what pydantic cannot say (``oneOf``, ``patternProperties``, ``$ref`` cycles
...) and changes the schema the model is shown. So the model made here has no fields of its own:
its JSON Schema *is* the spec's schema, its validation is nex's jsonschema check (the one the
native runtime runs), and its dump is the JSON value as the model wrote it. An object schema
becomes a ``BaseModel`` holding the object's keys; any other schema a ``RootModel``.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel, model_validator

from nex_core.runtime.structured import schema_name

__all__ = ["is_object_schema", "is_schema_model", "model_from_schema", "schema_of_model"]

_SCHEMA_ATTR = "__nex_output_schema__"


def is_object_schema(schema: dict[str, Any]) -> bool:
    """True when every value valid against ``schema`` is a JSON object."""
    return schema.get("type") == "object"


def model_from_schema(schema: dict[str, Any], name: str | None = None) -> type[BaseModel]:
    """A pydantic model whose JSON Schema is ``schema`` and whose validation is nex's check of
    it; named ``name``, else the schema's ``title``, else ``final_output``."""
    from nex_core.runtime.tools import InvalidArguments, validate_value

    frozen = copy.deepcopy(schema)

    def check(cls: type[BaseModel], data: Any) -> Any:
        value = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        try:
            validate_value(value, frozen, root="(answer)")
        except InvalidArguments as exc:
            raise ValueError(f"the answer does not match the output schema: {exc}") from None
        return data

    def json_schema(cls: type[BaseModel], core_schema: Any, handler: Any) -> dict[str, Any]:
        # Inside pydantic's generator a "$ref" must name one of pydantic's own definitions, so
        # a schema with references is shown there without them; model_json_schema() below
        # (what the frameworks read) returns it whole.
        return _without_refs(frozen)

    def model_json_schema(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        return copy.deepcopy(frozen)

    namespace: dict[str, Any] = {
        _SCHEMA_ATTR: frozen,
        "_nex_check": model_validator(mode="before")(classmethod(check)),  # type: ignore[arg-type]
        "__get_pydantic_json_schema__": classmethod(json_schema),
        "model_json_schema": classmethod(model_json_schema),
        "__doc__": str(frozen.get("description") or f"An answer valid against {name!r}."),
    }
    if is_object_schema(frozen):
        namespace["model_config"] = ConfigDict(extra="allow")
        base: type[BaseModel] = BaseModel
    else:
        namespace["__annotations__"] = {"root": Any}
        base = RootModel
    model = type(name or schema_name(frozen), (base,), namespace)
    return model


def is_schema_model(model: Any) -> bool:
    """True for a model made by :func:`model_from_schema` (a spec's schema, not a user type)."""
    return isinstance(getattr(model, _SCHEMA_ATTR, None), dict)


def schema_of_model(model: Any) -> dict[str, Any] | None:
    """The JSON Schema of an answer type: the spec's own for a model made here, else the
    type's pydantic JSON Schema (``None`` when it has none)."""
    own = getattr(model, _SCHEMA_ATTR, None)
    if isinstance(own, dict):
        return copy.deepcopy(own)
    try:
        from pydantic import TypeAdapter

        return TypeAdapter(model).json_schema()
    except Exception:  # not a type pydantic can describe
        return None


def _without_refs(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_refs(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$ref" in value:
        return {k: _without_refs(v) for k, v in value.items() if k != "$ref"}
    return {k: _without_refs(v) for k, v in value.items() if k not in ("$defs", "definitions")}

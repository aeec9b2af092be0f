"""Checking JSON that HARIS writes against the answer schema the package ships
(haris/runtime/answer.schema.json, read through `answer_schema()` from the installed package)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from haris.runtime.answer_json import answer_schema


def schema_errors(document: Any, definition: str | None = None) -> list[str]:
    """What makes `document` invalid: against the whole schema, or against one of its `$defs`
    ("answer", "predictions_file", "prediction", ...). Empty when it is valid."""
    schema = answer_schema()
    if definition is not None:
        schema = {"$schema": schema["$schema"], "$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    validator = Draft202012Validator(schema)
    return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}" for error in validator.iter_errors(document)]


def assert_valid(document: Any, definition: str) -> None:
    """`document` is a valid `definition` of the answer schema (and so valid against the whole schema)."""
    assert not schema_errors(document, definition), schema_errors(document, definition)[:5]
    assert not schema_errors(document), schema_errors(document)[:5]

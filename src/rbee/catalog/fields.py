"""Record classes: ordered, annotated fields with metadata, field-wise `==` and a repr.

A light stand-in for `dataclasses`, which imports `inspect` and half the standard library and
would cost the CLIs about a third of their start-up budget. `rbee.catalog.schema` reads the
fields' metadata (`constraints`) to generate the JSON Schema.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _RecordT = TypeVar("_RecordT", bound=type)


class FieldSpec:
    """A record field's metadata: its JSON Schema constraints, and whether it is serialized."""

    __slots__ = ("metadata",)

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata


def field(*, metadata: dict[str, Any] | None = None) -> Any:
    """Declare a record field's metadata (a light stand-in for `dataclasses.field`)."""
    return FieldSpec(metadata or {})


def record_class(cls: _RecordT) -> _RecordT:
    """Collect a class's annotated fields (in order) and give it field-wise `==` and repr."""
    specs: list[tuple[str, FieldSpec]] = []
    for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063 - inspect is the cost we avoid
        spec = cls.__dict__.get(name)
        if isinstance(spec, FieldSpec):
            specs.append((name, spec))
            delattr(cls, name)
    names = tuple(name for name, _ in specs)
    cls.__record_fields__ = tuple(specs)  # type: ignore[attr-defined]

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    def __repr__(self: Any) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{self.__class__.__name__}({fields})"

    cls.__eq__ = __eq__  # type: ignore[method-assign,assignment]
    cls.__repr__ = __repr__  # type: ignore[method-assign,assignment]
    cls.__hash__ = None  # type: ignore[assignment]
    return cls


def record_fields(cls: type) -> tuple[tuple[str, FieldSpec], ...]:
    """The (name, spec) pairs of a record class, in declaration order."""
    fields: tuple[tuple[str, FieldSpec], ...] = cls.__record_fields__  # type: ignore[attr-defined]
    return fields


def constrained(**constraints: Any) -> dict[str, Any]:
    """Field metadata: JSON Schema constraints (the types' validators enforce the same)."""
    return {"constraints": constraints}

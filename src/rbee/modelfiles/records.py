"""Plain record classes for the file readers' results, without `dataclasses`.

`dataclasses` costs `rbee-hive models inspect`, a command measured as a whole process, about
10 ms of start-up: it imports `inspect` (and with it `ast`, `dis`, `tokenize`) and builds every
class with `exec`. These records give what the readers' dataclasses gave their users: keyword
construction (each class writes its `__init__`), equality and `repr` over the fields named in
`_fields`, and, for the frozen ones, a hash.
"""

from __future__ import annotations


class Record:
    """Equality and `repr` over the attributes named in `_fields`, as a dataclass's."""

    _fields: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable: unhashable, as a dataclass

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({values})"


class FrozenRecord(Record):
    """A record whose fields are not changed after construction: hashable."""

    def __hash__(self) -> int:  # type: ignore[override]  # Record's is None
        return hash(tuple(getattr(self, name) for name in self._fields))

"""Storage backends: in-memory and SQL (SQLite by default on disk, PostgreSQL for many machines).

``get_storage(None)`` gives a fresh in-memory storage; a URL string gives SQL storage.
"""

from __future__ import annotations

from typing import Any

from hyperscout.errors import InvalidArgumentError, InvalidTypeError
from hyperscout.storage._base import ParamWrite, Storage
from hyperscout.storage._memory import InMemoryStorage

__all__ = ["InMemoryStorage", "ParamWrite", "SQLStorage", "Storage", "get_storage"]

DEFAULT_URL = "sqlite:///hyperscout.db"


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":
        from hyperscout.storage._sql import SQLStorage

        return SQLStorage
    raise AttributeError(name)


def get_storage(storage: Any) -> Storage:
    """Turn the ``storage`` argument of create_study / load_study into a Storage.

    Example:
        >>> get_storage(None)
        InMemoryStorage()
    """
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, str):
        if "://" not in storage:
            raise InvalidArgumentError(
                f"`storage` must be a database URL such as 'sqlite:///hyperscout.db', got "
                f"{storage!r}"
            )
        from hyperscout.storage._sql import SQLStorage

        sql: Storage = SQLStorage(storage)
        return sql
    if isinstance(storage, Storage):
        return storage
    raise InvalidTypeError(
        f"`storage` must be None, a URL string or a Storage, got {type(storage).__name__}"
    )

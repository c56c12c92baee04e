"""Shared fixtures. ``postgres_url``: a private schema in the test PostgreSQL database (shared by
the session; ``fresh_postgres_url``: an empty one per test).

The server comes from ``HYPERSCOUT_TEST_POSTGRES_URL`` (default: ``postgres`` user, no password,
database ``test`` on 127.0.0.1:5432). When it cannot be reached, tests that need it are skipped,
or fail when ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def _private_schema() -> Iterator[str]:
    """A URL whose ``search_path`` is a fresh schema, dropped on exit."""
    import sqlalchemy as sa

    base = sa.make_url(os.environ.get("HYPERSCOUT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if base.drivername in ("postgres", "postgresql"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"hs_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, poolclass=sa.NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:
        message = f"PostgreSQL at {base.render_as_string()} is unreachable: {err}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL whose ``search_path`` is a fresh schema, shared by the session's tests."""
    with _private_schema() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A URL whose ``search_path`` is an empty schema of this test's own."""
    with _private_schema() as url:
        yield url

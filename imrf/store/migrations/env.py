"""Alembic environment: migrates through the connection :mod:`imrf.store.migrate` hands over.

Run by hand (e.g. ``alembic revision --autogenerate``) it reads the URL from the ``-x url=...``
argument, else from ``sqlalchemy.url``, else from the settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from imrf.store.engine import make_engine
from imrf.store.tables import metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from imrf.settings import load_settings

    return load_settings().database_url.get_secret_value()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        engine = make_engine(_url())
        try:
            with engine.begin() as connection:
                _run(connection)
        finally:
            engine.dispose()

"""The alias service's app: routes from the catalogue bound to their resources.

Its endpoints come with their own issue; until then the catalogue lists none, so every
path answers NOT_FOUND in the envelope.
"""

from __future__ import annotations

from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    resources: dict[str, object] = {}
    return create_service_app(config, "alias", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.alias.app:get_app()`)."""
    return create_app()

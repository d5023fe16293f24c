"""The mlmmj service's app: subscribable mailing lists (CONTRACT §4.9), their rows in vmail and
their files through mlmmjadmin."""

from __future__ import annotations

from services.mlmmj.lists import DomainListsResource, ListResource
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    resources = {"ml": ListResource(), "mls": DomainListsResource()}
    return create_service_app(config, "mlmmj", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.mlmmj.app:get_app()`)."""
    return create_app()

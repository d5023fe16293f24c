"""The alias service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.alias.aliases import AliasChangeEmailResource, AliasesResource, AliasResource
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    alias = AliasResource()
    resources = {
        "alias": alias,
        "alias_change_email": AliasChangeEmailResource(),
        "aliases": AliasesResource(),
        "maillist": alias,
    }
    return create_service_app(config, "alias", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.alias.app:get_app()`)."""
    return create_app()

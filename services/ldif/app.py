"""The LDIF service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.ldif.exports import (
    AdminExport,
    AliasExport,
    CatchallExport,
    DomainExport,
    UserExport,
)
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    resources = {
        "ldif_domain": DomainExport(config),
        "ldif_catchall": CatchallExport(config),
        "ldif_admin": AdminExport(config),
        "ldif_user": UserExport(config),
        "ldif_alias": AliasExport(config),
    }
    return create_service_app(config, "ldif", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.ldif.app:get_app()`)."""
    return create_app()

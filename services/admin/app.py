"""The admin service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.admin.admins import (
    AdminResource,
    AdminsResource,
    ApiKeyResource,
    ApiKeysResource,
    VerifyAdminPasswordResource,
)
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    resources = {
        "admin": AdminResource(config),
        "admins": AdminsResource(config),
        "verify_password_admin": VerifyAdminPasswordResource(),
        "apikeys": ApiKeysResource(),
        "apikey": ApiKeyResource(),
    }
    return create_service_app(config, "admin", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.admin.app:get_app()`)."""
    return create_app()

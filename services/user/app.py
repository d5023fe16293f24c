"""The user service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.user.users import (
    ChangeEmailResource,
    UserKeepDaysResource,
    UserResource,
    UsersResource,
    VerifyPasswordResource,
)
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    user = UserResource(config)
    resources = {
        "user": user,
        "user_keep_days": UserKeepDaysResource(user),
        "user_change_email": ChangeEmailResource(),
        "users": UsersResource(config),
        "verify_password_user": VerifyPasswordResource(),
    }
    return create_service_app(config, "user", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.user.app:get_app()`)."""
    return create_app()

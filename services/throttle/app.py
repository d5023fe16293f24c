"""The throttle service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.throttle.throttles import ThrottleResource
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    throttle = ThrottleResource()
    resources = {"throttle_global": throttle, "throttle": throttle}
    return create_service_app(config, "throttle", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.throttle.app:get_app()`)."""
    return create_app()

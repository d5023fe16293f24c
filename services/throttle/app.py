"""The throttle service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.throttle.greylisting import (
    GreylistingAllResource,
    GreylistingResource,
    GreylistingWhitelistsResource,
    SpfDomainsResource,
)
from services.throttle.throttles import ThrottleResource
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    throttle = ThrottleResource()
    greylisting, whitelists = GreylistingResource(), GreylistingWhitelistsResource()
    resources = {
        "throttle_global": throttle,
        "throttle": throttle,
        "greylisting_all": GreylistingAllResource(),
        "greylisting_spf": SpfDomainsResource(),
        "greylisting_global": greylisting,
        "greylisting": greylisting,
        "greylisting_whitelists_global": whitelists,
        "greylisting_whitelists": whitelists,
    }
    return create_service_app(config, "throttle", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.throttle.app:get_app()`)."""
    return create_app()

"""The domain service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.domain.domains import (
    DomainAdminsResource,
    DomainKeepDaysResource,
    DomainResource,
    DomainsResource,
)
from shared.app import create_service_app
from shared.config import Config


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    domain = DomainResource(config)
    resources = {
        "domains": DomainsResource(),
        "domain": domain,
        "domain_keep_days": DomainKeepDaysResource(domain),
        "domain_admins": DomainAdminsResource(),
    }
    return create_service_app(config, "domain", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.domain.app:get_app()`)."""
    return create_app()

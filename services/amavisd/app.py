"""The amavisd service's app: routes from the catalogue bound to their resources."""

from __future__ import annotations

from services.amavisd.spam import SpamPolicyResource, WblistResource
from shared.app import create_service_app
from shared.config import Config
from shared.rules import policy_accounts


def create_app(config: Config | None = None):
    config = config or Config.from_env()
    resources = {
        "spampolicy_global": SpamPolicyResource(config, policy_accounts.global_account),
        "spampolicy_domain": SpamPolicyResource(config, policy_accounts.domain_account),
        "spampolicy_user": SpamPolicyResource(config, policy_accounts.user_account),
        "wblist_global": WblistResource(),
        "wblist": WblistResource(),
    }
    return create_service_app(config, "amavisd", resources)


def get_app():
    """The WSGI entry point gunicorn loads (`services.amavisd.app:get_app()`)."""
    return create_app()

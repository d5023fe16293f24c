"""Configuration read once from environment variables into a frozen object."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

SERVICES = ("domain", "user", "alias", "throttle", "admin", "ldif", "amavisd", "mlmmj")

DEFAULT_BINDS = {
    "gateway": "127.0.0.1:8080",
    "domain": "127.0.0.1:8081",
    "user": "127.0.0.1:8082",
    "alias": "127.0.0.1:8083",
    "throttle": "127.0.0.1:8084",
    "admin": "127.0.0.1:8085",
    "ldif": "127.0.0.1:8086",
    "amavisd": "127.0.0.1:8087",
    "mlmmj": "127.0.0.1:8088",
}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def _bool(value: str, name: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be a boolean, not {value!r}")


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {value!r}") from None


@dataclasses.dataclass(frozen=True)
class Config:
    vmail_db_url: str = "sqlite:///var/vmail.db"
    iredapd_db_url: str = "sqlite:///var/iredapd.db"
    iredadmin_db_url: str = "sqlite:///var/iredadmin.db"
    amavisd_db_url: str = "sqlite:///var/amavisd.db"
    db_pool_size: int = 8
    db_pool_timeout: int = 10

    enable_restful_api: bool = False
    restrict_api_access: bool = False
    restful_api_clients: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    api_path_prefixes: tuple[str, ...] = ("/api", "/iredadmin/api")
    api_error_status: str = "compat"
    api_max_body_bytes: int = 1024 * 1024
    api_hidden_user_profiles: tuple[str, ...] = ("password",)
    api_hidden_admin_profiles: tuple[str, ...] = ("password",)

    session_timeout: int = 1800
    session_cookie_name: str = "mailapi_session"
    session_cookie_secure: bool = True
    login_max_failures: int = 10
    login_failure_window: int = 900

    internal_secret: str = ""
    identity_max_age: int = 5
    service_binds: tuple[tuple[str, str], ...] = tuple(
        (name, DEFAULT_BINDS[name]) for name in SERVICES
    )
    upstream_connect_timeout: float = 2.0
    upstream_read_timeout: float = 30.0
    upstream_pool_size: int = 16

    default_transport: str = "dovecot"
    default_password_scheme: str = "SSHA512"
    min_password_length: int = 8
    max_password_length: int = 0
    password_has_letter: bool = True
    password_has_uppercase: bool = True
    password_has_number: bool = True
    password_has_special_char: bool = True
    storage_base_directory: str = "/var/vmail/vmail1"
    # LDIF export (CONTRACT §4.10): where iRedMail's OpenLDAP tree puts domains and admins.
    ldap_basedn: str = "o=domains,dc=example,dc=com"
    ldap_domainadmin_dn: str = "o=domainAdmins,dc=example,dc=com"
    ldif_amavis_account: bool = True
    # Spam policies (CONTRACT §4.8): the subject prefix `prefix_spam_in_subject=yes` writes, and
    # the names of the site's own ban rules (amavisd.conf's %banned_rules) beyond iRedMail's.
    amavisd_spam_subject_prefix: str = "[SPAM] "
    amavisd_ban_rules: tuple[str, ...] = ()
    # Subscribable lists (CONTRACT §4.9): mlmmjadmin's API, the names iRedAdmin's settings use.
    mlmmjadmin_api_base_url: str = "http://127.0.0.1:7790/api"
    mlmmjadmin_api_auth_token: str = ""
    mlmmjadmin_api_auth_header: str = "X-MLMMJADMIN-API-AUTH-TOKEN"
    mlmmjadmin_api_verify_ssl: bool = False
    # Which Dovecot writes `used_quota`: on PostgreSQL, init-db creates that version's trigger.
    dovecot_version: str = "2.3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build the configuration from environment variables (see .env.example)."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            name = field.name.upper()
            if field.name == "service_binds":
                kwargs[field.name] = tuple(
                    (svc, env.get(f"{svc.upper()}_SERVICE_BIND", DEFAULT_BINDS[svc]))
                    for svc in SERVICES
                )
                continue
            if name not in env:
                continue
            raw = env[name]
            if field.type == "bool":
                kwargs[field.name] = _bool(raw, name)
            elif field.type == "int":
                kwargs[field.name] = _int(raw, name)
            elif field.type == "float":
                kwargs[field.name] = float(raw)
            elif field.type.startswith("tuple"):
                kwargs[field.name] = _list(raw)
            else:
                kwargs[field.name] = raw
        config = cls(**kwargs)
        config.validate()
        return config

    def database_urls(self) -> dict[str, str]:
        """{database name: URL} of the four databases (shared.db.DATABASES' names)."""
        return {
            "vmail": self.vmail_db_url,
            "iredapd": self.iredapd_db_url,
            "iredadmin": self.iredadmin_db_url,
            "amavisd": self.amavisd_db_url,
        }

    def validate(self) -> None:
        if self.api_error_status not in ("compat", "rest"):
            raise ValueError("API_ERROR_STATUS must be 'compat' or 'rest'")
        if self.dovecot_version not in ("2.3", "2.4"):
            raise ValueError("DOVECOT_VERSION must be '2.3' or '2.4'")
        if self.api_max_body_bytes < 1:
            raise ValueError("API_MAX_BODY_BYTES must be positive")

"""Resources of the user service: /user/{mail}…, /users/{domain}, /verify_password/user/{mail}."""

from __future__ import annotations

from shared import audit, paging
from shared.db import stream_rows
from shared.envelope import answer, stream_list
from shared.errors import ApiError
from shared.models.vmail import Domain, Mailbox
from shared.params import Params, path_domain, path_keep_days, path_mailbox
from shared.passwords import verify_password
from shared.rules import access
from shared.rules import users as rules
from shared.validation import domain_of


class UserResource:
    def __init__(self, config):
        self._config = config

    def on_get(self, req, resp, mail):
        address = path_mailbox(mail)
        caller = req.context.identity
        access.require_domain(caller, domain_of(address))
        answer(resp, rules.user_profile(caller, address, self._config.api_hidden_user_profiles))

    def on_post(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        params = Params.from_request(req)
        rules.create_user(req.context.identity, address, params, self._config)
        audit.record_account(req.context.identity, "create", f"Create user: {address}", address)
        answer(resp)

    def on_put(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        params = Params.from_request(req)
        rules.update_user(req.context.identity, address, params, self._config)
        summary = f"Update user: {address} ({audit.changes(params)})"
        audit.record_account(req.context.identity, "update", summary, address)
        answer(resp)

    def on_delete(self, req, resp, mail, days: str | None = None):
        address = access.writable_account(req.context.identity, mail)
        kept = path_keep_days(days) if days is not None else None
        rules.delete_user(address, req.context.identity.admin, kept)
        audit.record_account(req.context.identity, "delete", f"Delete user: {address}", address)
        answer(resp)


class UserKeepDaysResource:
    def __init__(self, user_resource: UserResource):
        self._user = user_resource

    def on_delete(self, req, resp, mail, days):
        self._user.on_delete(req, resp, mail, days)


class ChangeEmailResource:
    def on_post(self, req, resp, mail, new_mail):
        address = access.writable_account(req.context.identity, mail)
        new = path_mailbox(new_mail)
        rules.rename_user(address, new)
        audit.record_account(
            req.context.identity, "update", f"Rename user: {address} -> {new}", new
        )
        answer(resp)


class UsersResource:
    def __init__(self, config):
        self._config = config

    def on_get(self, req, resp, domain):
        domain = path_domain(domain)
        access.require_domain(req.context.identity, domain)
        params = Params.from_request(req)
        if not Domain.select().where(Domain.domain == domain).exists():
            raise ApiError("NO_SUCH_DOMAIN", domain)
        query = rules.users_query(domain, params)
        hidden = self._config.api_hidden_user_profiles

        def to_json(row):
            return rules.public_row(row, hidden)

        if params.get_bool("email_only", False):
            query = query.select(Mailbox.username)

            def to_json(row):
                return row["username"]

        if paging.wants_page(params):
            rows, extra = paging.page(query, rules.USER_SEARCH_FIELDS, params, to_json)
            answer(resp, rows, **extra)
            return
        resp.content_type = "application/json; charset=utf-8"
        query = paging.searched(query, rules.USER_SEARCH_FIELDS, params)
        resp.stream = stream_list(stream_rows(query), key=to_json)

    def on_put(self, req, resp, domain):
        domain = access.writable_domain(req.context.identity, domain)
        params = Params.from_request(req)
        rules.update_domain_users(domain, params, self._config)
        summary = f"Update all users of {domain} ({audit.changes(params)})"
        audit.record(req.context.identity, "update", summary, domain=domain)
        answer(resp)


class VerifyPasswordResource:
    """Global admins only; `_success` says whether the password matches."""

    def on_post(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_global(req.context.identity)
        params = Params.from_request(req)
        password = params.get_str("password", required=True)
        stored = Mailbox.select(Mailbox.password).where(Mailbox.username == address).scalar()
        if stored is None:
            raise ApiError("NO_SUCH_ACCOUNT", address)
        if not verify_password(password, stored):
            raise ApiError("INVALID_CREDENTIALS")
        answer(resp)

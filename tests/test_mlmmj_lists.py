"""Subscribable mailing lists (CONTRACT §4.9) through the gateway, with the real mlmmjadmin
making Debian's mlmmj lists (tests/mlmmjadmin.py): after each call the list's files, read by
`mlmmj-list` and from its control folder, say what the API said, and so do the SQL rows."""

from __future__ import annotations

import pytest

from shared.models.vmail import Forwarding, Maillist, MaillistOwner, Moderator
from tests.conftest import login
from tests.helpers import (
    add_domain,
    add_domain_admin,
    add_mailbox,
    add_user_rows,
    failure,
    ok,
    rows,
    run_together,
)
from tests.processes import free_port

LIST = "team@example.com"
PATH = f"/api/ml/{LIST}"


@pytest.fixture
def lists(make_api, global_admin, mlmmjadmin):
    """The global admin's client, its API talking to the test's mlmmjadmin; the domain
    example.com with the mailbox u@example.com."""
    add_domain("example.com")
    add_user_rows("u@example.com")
    return login(make_api(**mlmmjadmin.overrides()))


def list_row(address: str = LIST) -> dict | None:
    found = rows(Maillist.select().where(Maillist.address == address))
    return found[0] if found else None


def owners_rows(address: str = LIST) -> set[str]:
    query = MaillistOwner.select().where(MaillistOwner.address == address)
    return {r["owner"] for r in rows(query)}


def moderator_rows(address: str = LIST) -> set[str]:
    return {r["moderator"] for r in rows(Moderator.select().where(Moderator.address == address))}


def self_row(address: str = LIST) -> dict | None:
    found = rows(Forwarding.select().where(Forwarding.address == address))
    return found[0] if found else None


def nothing_of(address: str = LIST) -> bool:
    return (list_row(address) is None and self_row(address) is None
            and not owners_rows(address) and not moderator_rows(address))  # fmt: skip


# -- create -------------------------------------------------------------------------------
def test_create_writes_the_rows_and_mlmmj_makes_the_list(lists, mlmmjadmin):
    ok(lists.post(PATH, {
        "name": "The team", "owner": "u@example.com,boss@example.org",
        "moderators": "u@example.com", "subject_prefix": "[team]",
        "max_message_size": "10240", "close_list": "yes",
        "custom_headers": "X-Team: yes\nX-Other: 1", "footer_text": "bye",
    }))  # fmt: skip
    row = list_row()
    assert row["transport"] == "mlmmj:example.com/team"
    assert row["name"] == "The team" and row["maxmsgsize"] == 10240
    assert row["accesspolicy"] == "membersonly"
    assert row["active"] == 1 and len(row["mlid"]) == 36
    forwarding = self_row()
    assert forwarding["forwarding"] == LIST
    assert forwarding["is_maillist"] == 1 and forwarding["active"] == 1
    assert owners_rows() == {"u@example.com", "boss@example.org"}
    assert moderator_rows() == {"u@example.com"}
    # mlmmj's own files
    assert mlmmjadmin.owners(LIST) == {"u@example.com", "boss@example.org"}
    assert mlmmjadmin.moderators(LIST) == {"u@example.com"}
    assert mlmmjadmin.control(LIST, "prefix").strip() == "[team]"
    assert mlmmjadmin.control(LIST, "maxmailsize").strip() == "10240"
    assert mlmmjadmin.control(LIST, "closedlist") is not None
    assert mlmmjadmin.control(LIST, "subonlypost") is not None  # membersonly
    assert mlmmjadmin.control(LIST, "modonlypost") is None
    headers = mlmmjadmin.control(LIST, "customheaders")
    assert "X-Team: yes" in headers and "X-Other: 1" in headers
    assert mlmmjadmin.control(LIST, "footer_text").strip() == "bye"
    # the vendor's documented defaults (CONTRACT §4.9), not mlmmjadmin's
    assert mlmmjadmin.control(LIST, "nolistsubsemail") is not None
    assert mlmmjadmin.control(LIST, "notmetoo") is not None


def test_create_defaults_owner_and_moderator_to_the_postmaster(lists, mlmmjadmin):
    ok(lists.post(PATH))
    assert owners_rows() == moderator_rows() == {"postmaster@example.com"}
    assert mlmmjadmin.owners(LIST) == mlmmjadmin.moderators(LIST) == {"postmaster@example.com"}
    assert mlmmjadmin.subscribers(LIST) == set()


def test_subscribers_on_create_confirm_by_default(lists, mlmmjadmin):
    ok(lists.post(PATH, {"subscribers": "a@x.test"}))
    assert mlmmjadmin.subscribers(LIST) == set()  # waits for a@x.test's confirmation
    assert mlmmjadmin.pending(LIST) == ["a@x.test"]
    ok(lists.post("/api/ml/other@example.com",
                  {"subscribers": "a@x.test,B@y.test", "require_confirm": "no"}))  # fmt: skip
    assert mlmmjadmin.subscribers("other@example.com") == {"a@x.test", "b@y.test"}


def test_subscription_kinds(lists, mlmmjadmin):
    ok(lists.post(PATH, {"subscribers": "d@x.test", "require_confirm": "no",
                         "subscription": "digest"}))  # fmt: skip
    ok(lists.put(PATH, {"add_subscribers": "n@x.test", "require_confirm": "no",
                        "subscription": "nomail"}))  # fmt: skip
    assert mlmmjadmin.subscribers(LIST, "digest") == {"d@x.test"}
    assert mlmmjadmin.subscribers(LIST, "nomail") == {"n@x.test"}
    assert mlmmjadmin.subscribers(LIST) == set()
    subscribers = lists.get(PATH, {"with_subscribers": "yes"}).json["_data"]["subscribers"]
    assert sorted(subscribers, key=lambda s: s["mail"]) == [
        {"mail": "d@x.test", "subscription": "digest"},
        {"mail": "n@x.test", "subscription": "nomail"},
    ]


# -- update -------------------------------------------------------------------------------
def test_put_changes_subscribers(lists, mlmmjadmin):
    ok(lists.post(PATH))
    ok(lists.put(PATH, {"add_subscribers": "a@x.test,b@x.test,c@x.test", "require_confirm": "no"}))
    assert mlmmjadmin.subscribers(LIST) == {"a@x.test", "b@x.test", "c@x.test"}
    ok(lists.put(PATH, {"remove_subscribers": "b@x.test"}))
    assert mlmmjadmin.subscribers(LIST) == {"a@x.test", "c@x.test"}
    ok(lists.put(PATH, {"add_subscribers": "p@x.test"}))  # require_confirm defaults to yes
    assert "p@x.test" not in mlmmjadmin.subscribers(LIST)
    assert mlmmjadmin.pending(LIST) == ["p@x.test"]
    ok(lists.put(PATH, {"remove_subscribers": "ALL"}))
    assert mlmmjadmin.subscribers(LIST) == set()


def test_put_changes_the_profile_and_the_rows(lists, mlmmjadmin):
    ok(lists.post(PATH, {"subject_prefix": "[t]", "name": "Team"}))
    ok(lists.put(PATH, {"subject_prefix": "", "close_list": "yes", "maxMailSize": "2048",
                        "owner": "boss@example.org", "moderators": "u@example.com,m@example.org",
                        "is_newsletter": "yes", "newsletter_description": "News"}))  # fmt: skip
    assert mlmmjadmin.control(LIST, "prefix") is None
    assert mlmmjadmin.control(LIST, "closedlist") is not None
    assert mlmmjadmin.control(LIST, "maxmailsize").strip() == "2048"
    assert mlmmjadmin.owners(LIST) == owners_rows() == {"boss@example.org"}
    assert mlmmjadmin.moderators(LIST) == moderator_rows() == {"u@example.com", "m@example.org"}
    row = list_row()
    assert (row["name"], row["maxmsgsize"], row["is_newsletter"], row["description"]) == (
        "Team", 2048, 1, "News")  # fmt: skip
    ok(lists.put(PATH, {"accountStatus": "disabled"}))
    assert list_row()["active"] == 0 and self_row()["active"] == 0
    assert lists.get(PATH).json["_data"]["name"] == "Team"  # a PUT changes only what it names


# Each switch and the mlmmj tunable (control file) it is (mlmmj's TUNABLES); the posting flags
# are proven with accessPolicy below.
SWITCH_FILES = {
    "close_list": "closedlist", "disable_subscription": "closedlistsub",
    "disable_subscription_confirm": "nosubconfirm", "disable_digest_subscription": "nodigestsub",
    "disable_digest_text": "nodigesttext", "disable_nomail_subscription": "nonomailsub",
    "moderated": "moderated", "moderate_non_subscriber_post": "modnonsubposts",
    "disable_retrieving_old_posts": "noget", "only_subscriber_can_get_old_posts": "subonlyget",
    "disable_retrieving_subscribers": "nolistsubsemail", "disable_send_copy_to_sender": "notmetoo",
    "notify_owner_when_sub_unsub": "notifysub", "notify_sender_when_moderated": "notifymod",
    "disable_archive": "noarchive", "moderate_subscription": "submod",
    "reply_to_sender": "replyto", "tocc": "tocc",
    "if_mod_send_only_mod_moderate": "ifmodsendonlymodmoderate",
    "disable_notify_subscription_moderated": "nosubmodmails",
    "disable_notify_when_missing_listaddress": "notoccdenymails",
    "disable_notify_when_access_denied": "noaccessdenymails",
    "disable_notify_when_subscriber_only": "nosubonlydenymails",
    "disable_notify_when_moderator_only": "nomodonlydenymails",
    "disable_notify_when_exceeding_max_mail_size": "nomaxmailsizedenymails",
}  # fmt: skip


@pytest.mark.parametrize("switch", sorted(SWITCH_FILES))
def test_each_switch_is_its_mlmmj_tunable(lists, mlmmjadmin, switch):
    tunable = SWITCH_FILES[switch]
    ok(lists.post(PATH, {switch: "yes"}))
    assert mlmmjadmin.control(LIST, tunable) is not None
    assert lists.get(PATH).json["_data"][switch] == "yes"
    ok(lists.put(PATH, {switch: "no"}))
    assert mlmmjadmin.control(LIST, tunable) is None
    assert lists.get(PATH).json["_data"][switch] == "no"
    ok(lists.put(PATH, {switch: "on"}))  # the house's boolean words
    assert mlmmjadmin.control(LIST, tunable) is not None


def test_list_and_text_parameters_reach_mlmmjs_files(lists, mlmmjadmin):
    ok(lists.post(PATH, {
        "subscription_moderators": "sm@example.org", "extra_addresses": "crew@example.com",
        "remove_headers": "X-Spam,Received", "footer_html": "<p>bye</p>", "footer_text": "bye",
    }))  # fmt: skip
    assert mlmmjadmin.control(LIST, "submod").split() == ["sm@example.org"]
    assert mlmmjadmin.control(LIST, "listaddress").split() == [LIST, "crew@example.com"]
    assert sorted(mlmmjadmin.control(LIST, "delheaders").split()) == ["Received:", "X-Spam:"]
    assert mlmmjadmin.control(LIST, "footer_html").strip() == "<p>bye</p>"
    data = lists.get(PATH).json["_data"]
    assert data["subscription_moderators"] == ["sm@example.org"]
    assert data["moderate_subscription"] == "yes"
    ok(lists.put(PATH, {"remove_headers": "", "extra_addresses": ""}))
    assert lists.get(PATH).json["_data"]["remove_headers"] == []


@pytest.mark.parametrize("policy, subonly, modonly", [
    ("public", False, False), ("domain", False, False), ("subdomain", False, False),
    ("membersonly", True, False), ("moderatorsonly", False, True),
    ("membersandmoderatorsonly", True, False),
])  # fmt: skip
def test_access_policy_sets_mlmmjs_posting_flags(lists, mlmmjadmin, policy, subonly, modonly):
    ok(lists.post(PATH, {"accessPolicy": policy}))
    assert list_row()["accesspolicy"] == policy
    assert (mlmmjadmin.control(LIST, "subonlypost") is not None) is subonly
    assert (mlmmjadmin.control(LIST, "modonlypost") is not None) is modonly


def test_posting_flags_alone_set_the_access_policy(lists, mlmmjadmin):
    ok(lists.post(PATH, {"accessPolicy": "domain"}))
    ok(lists.put(PATH, {"only_subscriber_can_post": "no"}))  # what domain already means
    assert list_row()["accesspolicy"] == "domain"
    ok(lists.put(PATH, {"only_moderator_can_post": "yes"}))
    assert list_row()["accesspolicy"] == "moderatorsonly"
    assert mlmmjadmin.control(LIST, "modonlypost") is not None
    ok(lists.put(PATH, {"only_moderator_can_post": "no", "only_subscriber_can_post": "yes"}))
    assert list_row()["accesspolicy"] == "membersonly"
    assert mlmmjadmin.control(LIST, "modonlypost") is None
    ok(lists.put(PATH, {"only_subscriber_can_post": "no"}))
    assert list_row()["accesspolicy"] == "public"
    assert mlmmjadmin.control(LIST, "subonlypost") is None
    put = lists.put(PATH, {"accessPolicy": "membersonly", "only_subscriber_can_post": "no"})
    assert failure(put) == "INVALID_PARAM"


# -- reading ------------------------------------------------------------------------------
def test_get_merges_the_row_and_mlmmjs_profile(lists):
    ok(lists.post(PATH, {"name": "Team", "owner": "u@example.com", "subject_prefix": "[t]"}))
    data = lists.get(PATH).json["_data"]
    assert data["address"] == LIST and data["transport"] == "mlmmj:example.com/team"
    assert data["mlmmj"] is True and data["owners"] == ["u@example.com"]
    assert data["subject_prefix"] == "[t]" and data["only_subscriber_can_post"] == "yes"
    assert data["disable_send_copy_to_sender"] == "yes" and "subscribers" not in data
    assert lists.get(f"{PATH}?with_subscribers=yes").json["_data"]["subscribers"] == []


def test_the_domains_lists(lists):
    for name in ("b", "a"):
        ok(lists.post(f"/api/ml/{name}@example.com"))
    assert lists.get("/api/mls/example.com?email_only=yes").json["_data"] == [
        "a@example.com", "b@example.com"]  # fmt: skip
    data = lists.get("/api/mls/example.com").json["_data"]
    assert [r["address"] for r in data] == ["a@example.com", "b@example.com"]
    assert data[0]["transport"] == "mlmmj:example.com/a"
    assert failure(lists.get("/api/mls/nowhere.test")) == "NO_SUCH_DOMAIN"


def test_a_list_without_its_files_is_still_answered_and_deletable(lists, mlmmjadmin):
    ok(lists.post(PATH))
    mlmmjadmin.empty()
    assert lists.get(PATH).json["_data"]["mlmmj"] is False
    ok(lists.delete(PATH))
    assert nothing_of()


# -- refusals -----------------------------------------------------------------------------
def test_refusals(lists):
    ok(lists.post(PATH))
    assert failure(lists.post("/api/ml/not-an-address")) == "INVALID_MAIL"
    assert failure(lists.post("/api/ml/x@nowhere.test")) == "NO_SUCH_DOMAIN"
    assert failure(lists.get("/api/ml/nobody@example.com")) == "NO_SUCH_ACCOUNT"
    assert failure(lists.put("/api/ml/nobody@example.com", {"name": "x"})) == "NO_SUCH_ACCOUNT"
    assert failure(lists.delete("/api/ml/nobody@example.com")) == "NO_SUCH_ACCOUNT"
    assert failure(lists.post("/api/ml/b@example.com", {"close_list": "maybe"})) == "INVALID_PARAM"
    assert failure(lists.post("/api/ml/b@example.com", {"subscription": "weekly"})) == (
        "INVALID_PARAM")  # fmt: skip
    # mlmmjadmin would take a misspelt name silently (its add_subscribers on the profile)
    assert failure(lists.put(PATH, {"add_subscriber": "a@x.test"})) == "INVALID_PARAM"
    assert failure(lists.post("/api/ml/b@example.com", {"owner": "not-mail"})) == "INVALID_MAIL"
    assert failure(lists.post("/api/ml/b@example.com", {"accessPolicy": "all"})) == (
        "INVALID_ACCESS_POLICY")  # fmt: skip
    assert list_row("b@example.com") is None


def test_an_address_is_one_kind_of_account_both_ways(lists):
    ok(lists.post(PATH))
    ok(lists.post("/api/alias/crew@example.com"))
    assert failure(lists.post(PATH)) == "ALREADY_EXISTS"
    assert failure(lists.post("/api/ml/u@example.com")) == "ALREADY_EXISTS"
    assert failure(lists.post("/api/ml/crew@example.com")) == "ALREADY_EXISTS"
    assert failure(lists.post(f"/api/user/{LIST}", {"password": "Passw0rd!x"})) == "ALREADY_EXISTS"
    assert failure(lists.post(f"/api/alias/{LIST}")) == "ALREADY_EXISTS"
    assert list_row("u@example.com") is None and list_row("crew@example.com") is None


def test_domain_list_limit(lists, mlmmjadmin):
    ok(lists.put("/api/domain/example.com", {"numberOfLists": "1"}))
    ok(lists.post(PATH))
    assert failure(lists.post("/api/ml/b@example.com")) == "EXCEEDED_DOMAIN_LIST_LIMIT"
    ok(lists.put("/api/domain/example.com", {"numberOfLists": "-1"}))
    assert failure(lists.post("/api/ml/b@example.com")) == "NOT_ALLOWED"
    assert not mlmmjadmin.exists("b@example.com")


def test_the_limit_holds_under_concurrent_creates(make_api, lists, mlmmjadmin):
    lists = login(make_api(db_pool_size=6, **mlmmjadmin.overrides()))  # a pool per thread
    ok(lists.put("/api/domain/example.com", {"numberOfLists": "2"}))
    answers = {}

    def create(name):
        return lambda: answers.__setitem__(name, lists.post(f"/api/ml/{name}@example.com").json)

    run_together(*(create(f"l{i}") for i in range(6)), timeout=60)
    made = sorted(name for name, answer in answers.items() if answer == {"_success": True})
    assert len(answers) == 6 and len(made) == 2, answers
    refused = {a["_msg"] for name, a in answers.items() if name not in made}
    assert refused == {"EXCEEDED_DOMAIN_LIST_LIMIT"}
    assert len(rows(Maillist.select())) == 2
    assert sorted(p.name for p in (mlmmjadmin.spool / "example.com").iterdir()) == made


def test_a_domain_admin_sees_only_its_domains_lists(make_api, lists, mlmmjadmin):
    ok(lists.post(PATH))
    add_domain("other.test")
    add_mailbox("boss@other.test", password="B0ss-Passw0rd", isadmin=1)
    add_domain_admin("boss@other.test", "other.test")
    other = login(make_api(**mlmmjadmin.overrides()), "boss@other.test", "B0ss-Passw0rd")
    assert failure(other.get(PATH)) == "PERMISSION_DENIED"
    assert failure(other.put(PATH, {"name": "mine"})) == "PERMISSION_DENIED"
    assert failure(other.delete(PATH)) == "PERMISSION_DENIED"
    assert failure(other.get("/api/mls/example.com")) == "PERMISSION_DENIED"
    ok(other.post("/api/ml/list@other.test"))
    assert other.get("/api/mls/other.test?email_only=yes").json["_data"] == ["list@other.test"]


# -- mlmmjadmin down or refusing ------------------------------------------------------------
@pytest.mark.parametrize("broken", ["down", "wrong token"])
def test_a_failed_mlmmjadmin_call_leaves_the_database_as_it_was(make_api, lists, mlmmjadmin,
                                                                 broken):  # fmt: skip
    ok(lists.post(PATH, {"name": "Team"}))
    if broken == "down":
        settings = mlmmjadmin.overrides(
            mlmmjadmin_api_base_url=f"http://127.0.0.1:{free_port()}/api"
        )
    else:
        settings = mlmmjadmin.overrides(mlmmjadmin_api_auth_token="wrong")
    client = login(make_api(**settings))
    answer = client.post("/api/ml/new@example.com", {"owner": "u@example.com"})
    assert failure(answer) == "SERVICE_UNAVAILABLE" and answer.json["_detail"]
    assert nothing_of("new@example.com") and not mlmmjadmin.exists("new@example.com")
    assert failure(client.put(PATH, {"name": "Changed", "owner": "boss@example.org"})) == (
        "SERVICE_UNAVAILABLE")  # fmt: skip
    assert list_row()["name"] == "Team" and owners_rows() == {"postmaster@example.com"}
    # healed without a restart: the same call through a working mlmmjadmin
    ok(lists.post("/api/ml/new@example.com", {"owner": "u@example.com"}))
    assert mlmmjadmin.owners("new@example.com") == {"u@example.com"}


def test_files_left_by_a_failed_archive_are_not_inherited(lists, mlmmjadmin):
    ok(lists.post(PATH, {"subscribers": "old@x.test", "require_confirm": "no"}))
    Maillist.delete().execute()  # the rows went, the files stayed (an archive that failed)
    Forwarding.delete().where(Forwarding.address == LIST).execute()
    ok(lists.post(PATH))
    assert mlmmjadmin.subscribers(LIST) == set()
    assert len(mlmmjadmin.archived("example.com")) == 1


# -- delete -------------------------------------------------------------------------------
def test_delete_archives_the_list_or_removes_its_data(lists, mlmmjadmin):
    ok(lists.post(PATH, {"owner": "u@example.com"}))
    ok(lists.post("/api/ml/gone@example.com"))
    ok(lists.delete(PATH))
    assert nothing_of() and not mlmmjadmin.exists(LIST)
    assert [name.split("-")[0] for name in mlmmjadmin.archived("example.com")] == ["team"]
    ok(lists.delete("/api/ml/gone@example.com?keep_archive=no"))
    assert nothing_of("gone@example.com") and not mlmmjadmin.exists("gone@example.com")
    assert len(mlmmjadmin.archived("example.com")) == 1


def test_a_delete_with_mlmmjadmin_down_is_finished_later(make_api, lists, mlmmjadmin):
    ok(lists.post(PATH))
    down = mlmmjadmin.overrides(mlmmjadmin_api_base_url=f"http://127.0.0.1:{free_port()}/api")
    client = login(make_api(**down))
    assert failure(client.delete(PATH)) == "SERVICE_UNAVAILABLE"
    assert nothing_of()  # Postfix no longer accepts the list's mail
    assert mlmmjadmin.exists(LIST)
    ok(lists.delete(PATH))  # the retry finishes it
    assert not mlmmjadmin.exists(LIST) and len(mlmmjadmin.archived("example.com")) == 1


# -- cascades: a deleted or renamed account leaves the lists' files and rows ---------------
@pytest.fixture
def people(lists):
    """u@example.com owns and moderates team@example.com and a list of another domain, and is
    subscribed to both (digest on the other)."""
    add_domain("other.test")
    for address, kind in ((LIST, "normal"), ("club@other.test", "digest")):
        ok(lists.post(f"/api/ml/{address}", {
            "owner": "u@example.com,boss@other.test", "moderators": "u@example.com",
            "subscribers": "u@example.com,s@x.test", "require_confirm": "no",
            "subscription": kind,
        }))  # fmt: skip
    return lists


def test_deleting_a_user_removes_it_from_every_list(people, mlmmjadmin):
    ok(people.delete("/api/user/u@example.com"))
    for address, kind in ((LIST, "normal"), ("club@other.test", "digest")):
        assert mlmmjadmin.owners(address) == owners_rows(address) == {"boss@other.test"}
        assert mlmmjadmin.moderators(address) == moderator_rows(address) == set()
        assert mlmmjadmin.subscribers(address, kind) == {"s@x.test"}


def test_renaming_a_user_carries_its_lists(people, mlmmjadmin):
    ok(people.post("/api/user/u@example.com/change_email/v@example.com"))
    for address, kind in ((LIST, "normal"), ("club@other.test", "digest")):
        assert mlmmjadmin.owners(address) == owners_rows(address) == {
            "v@example.com", "boss@other.test"}  # fmt: skip
        assert mlmmjadmin.moderators(address) == moderator_rows(address) == {"v@example.com"}
        assert mlmmjadmin.subscribers(address, kind) == {"v@example.com", "s@x.test"}


def test_deleting_a_domain_archives_its_lists_and_drops_its_people(people, mlmmjadmin):
    ok(people.delete("/api/domain/example.com"))
    assert nothing_of() and not mlmmjadmin.exists(LIST)
    assert [name.split("-")[0] for name in mlmmjadmin.archived("example.com")] == ["team"]
    club = "club@other.test"
    assert mlmmjadmin.owners(club) == owners_rows(club) == {"boss@other.test"}
    assert mlmmjadmin.moderators(club) == moderator_rows(club) == set()


def test_a_user_delete_with_mlmmjadmin_down_is_finished_later(make_api, people, mlmmjadmin):
    down = mlmmjadmin.overrides(mlmmjadmin_api_base_url=f"http://127.0.0.1:{free_port()}/api")
    client = login(make_api(**down))
    assert failure(client.delete("/api/user/u@example.com")) == "SERVICE_UNAVAILABLE"
    assert "u@example.com" in mlmmjadmin.owners(LIST)
    ok(people.delete("/api/user/u@example.com"))  # the retry finishes the cascade
    assert mlmmjadmin.owners(LIST) == owners_rows() == {"boss@other.test"}
    assert mlmmjadmin.subscribers(LIST) == {"s@x.test"}


# -- Postfix: iRedMail's maps route the list to mlmmj --------------------------------------
@pytest.mark.server_db
def test_postfix_routes_the_list_to_mlmmj_while_it_is_active(lists, postfix, config):
    from tests.postfix import Resolver

    resolver = Resolver(postfix, config.storage_base_directory)
    assert postfix.lookup("transport_maps_maillist", LIST) is None
    ok(lists.post(PATH))
    assert postfix.lookup("transport_maps_maillist", LIST) == ["mlmmj:example.com/team"]
    # transport_maps in main.cf's order: the user map, this one, then the domain's dovecot
    assert resolver.first("transport_maps", LIST, "example.com") == ["mlmmj:example.com/team"]
    assert postfix.resolve_alias(LIST) == [LIST]  # accepted as a recipient, not expanded
    ok(lists.put(PATH, {"accountStatus": "disabled"}))
    assert postfix.lookup("transport_maps_maillist", LIST) is None
    assert postfix.resolve_alias(LIST) is None
    ok(lists.put(PATH, {"accountStatus": "active"}))
    ok(lists.put("/api/domain/example.com", {"accountStatus": "disabled"}))
    assert postfix.lookup("transport_maps_maillist", LIST) is None
    ok(lists.put("/api/domain/example.com", {"accountStatus": "active"}))
    ok(lists.delete(PATH))
    assert postfix.lookup("transport_maps_maillist", LIST) is None
    assert resolver.first("transport_maps", LIST, "example.com") == ["dovecot"]


def test_renaming_onto_an_address_that_already_owns_the_list(people, mlmmjadmin):
    """boss@other.test already owns both lists; u@example.com is renamed within its domain to
    an address that also owns one: the list keeps one owner row per address."""
    ok(
        people.put(
            PATH,
            {"owner": "u@example.com,v@example.com", "moderators": "u@example.com,v@example.com"},
        )
    )
    ok(people.post("/api/user/u@example.com/change_email/v@example.com"))
    assert mlmmjadmin.owners(LIST) == owners_rows() == {"v@example.com"}
    assert mlmmjadmin.moderators(LIST) == moderator_rows() == {"v@example.com"}


def test_a_newsletter_description_must_fit_its_column(lists):
    answer = lists.post(PATH, {"newsletter_description": "x" * 70_000})
    assert failure(answer) == "INVALID_PARAM" and list_row() is None

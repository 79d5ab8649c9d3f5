import pytest

from flowops.domain.binding import Resolution, head_allowed, inherited, resolve_request


def client(app=None, name=None, version=None):
    spec: dict = {}
    if app:
        spec["application"] = app
    flow = {k: v for k, v in (("name", name), ("version", version)) if v is not None}
    if flow:
        spec["defaultFlow"] = flow
    return spec


def application(name=None, version=None):
    return {"defaultFlow": {k: v for k, v in (("name", name), ("version", version)) if v is not None}}


@pytest.mark.parametrize(
    "client_spec,app_spec,expected",
    [
        # application only
        (client("web"), application("login", "3"), ("login", "3", "Application", "Application")),
        (client("web"), application("login"), ("login", "HEAD", "Application", "Default")),
        # client only
        (client(name="login", version="20261121093012123456"), None, ("login", "20261121093012123456", "ApiClient", "ApiClient")),
        (client(name="login"), None, ("login", "HEAD", "ApiClient", "Default")),
        # both: the client wins setting by setting
        (client("web", "checkout", "7"), application("login", "3"), ("checkout", "7", "ApiClient", "ApiClient")),
        (client("web", name="checkout"), application("login", "3"), ("checkout", "3", "ApiClient", "Application")),
        (client("web", version="latest"), application("login", "3"), ("login", "latest", "Application", "ApiClient")),
        # neither
        (client("web"), application(), (None, None, "Unset", "Unset")),
        (client(), None, (None, None, "Unset", "Unset")),
        # a version alone resolves nothing, but is reported with its source
        (client("web", version="4"), application(), (None, "4", "Unset", "ApiClient")),
    ],
)
def test_resolution_table(client_spec, app_spec, expected):
    r = resolve_request(client_spec, app_spec)
    assert (r.name, r.version, r.name_source, r.version_source) == expected
    assert r.resolved is (expected[0] is not None)
    assert (r.missing_message is None) is r.resolved


def test_missing_name_says_where_to_set_it():
    r = resolve_request(client("web"), application(version="3"))
    assert r.missing_message == "no flow name: set spec.defaultFlow.name on the ApiClient or on its Application web"
    r = resolve_request(client(), None)
    assert r.missing_message.startswith("no flow name: set spec.defaultFlow.name on the ApiClient")
    assert "spec.application" in r.missing_message


def test_absent_application_is_noted():
    r = resolve_request(client("web"), None)
    assert not r.resolved and r.application_missing
    assert "Application web does not exist" in r.missing_message
    r = resolve_request(client("web", name="login"), None)  # still resolves from the client alone
    assert r.resolved and r.application_missing and r.name_source == "ApiClient"


def test_empty_and_numeric_settings():
    r = resolve_request({"application": "web", "defaultFlow": {"name": "", "version": 5}}, application("login"))
    assert (r.name, r.version, r.name_source, r.version_source) == ("login", "5", "Application", "ApiClient")
    r = resolve_request({"defaultFlow": None}, None)
    assert r.name_source == "Unset"


def test_application_settings_are_ignored_without_an_application_reference():
    r = resolve_request(client(), application("login"))
    assert r.name is None and r.name_source == "Unset"


def test_resolution_is_frozen():
    r = resolve_request(client(name="x"), None)
    assert isinstance(r, Resolution)
    with pytest.raises(AttributeError):
        r.name = "y"  # type: ignore[misc]


@pytest.mark.parametrize("text", ["HEAD", "latest", "head"])
def test_head_refused_where_policy_forbids_it(text):
    message = head_allowed(text, allow_head=False, environment="production")
    assert message is not None
    assert "not allowed in environment production (policy.allowHeadBindings is false)" in message
    assert "pin a version id or number in spec.defaultFlow.version" in message
    assert message.startswith(text)


def test_head_message_exact():
    assert head_allowed("HEAD", False, "production") == (
        "HEAD is not allowed in environment production (policy.allowHeadBindings is false): "
        "pin a version id or number in spec.defaultFlow.version"
    )


@pytest.mark.parametrize("text,allow", [("HEAD", True), ("3", False), ("20261121093012123456", False), ("bogus", False)])
def test_head_allowed_or_not_head(text, allow):
    assert head_allowed(text, allow_head=allow, environment="production") is None


@pytest.mark.parametrize(
    ("client_spec", "app_spec"),
    [
        ({"application": "web"}, {"defaultFlow": {"name": "login", "version": 3}}),
        ({"application": "web", "defaultFlow": {"version": "HEAD"}}, {"defaultFlow": {"name": "login", "version": "2"}}),
        ({"application": "web", "defaultFlow": {"name": "signup"}}, {"defaultFlow": {"name": "login"}}),
        ({"application": "web"}, {"defaultFlow": {"name": "login"}, "description": "shop front"}),
        ({"application": "web"}, {}),
    ],
)
def test_a_client_resolves_from_what_it_inherits_as_from_its_applications_whole_spec(client_spec, app_spec):
    assert resolve_request(client_spec, inherited(app_spec)) == resolve_request(client_spec, app_spec)

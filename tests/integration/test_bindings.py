"""API client bindings against the real control plane: resolution setting by setting,
HEAD and its policy, pins, missing flows and versions, and the materialised ConfigMap
(its content, and that it is written exactly when the binding changes)."""

from __future__ import annotations

import json

import pytest

from flowops.domain.canonical import canonical_json, content_hash
from flowops.kube import APICLIENTS, APPLICATIONS, CONFIGMAPS, ENVIRONMENTS, FLOWS, FLOWVERSIONS, PROMOTIONS
from flowops.services import applications_resume, bindings_resume
from flowops.services.threads import FAN_OUT_THREADS
from flowops.testing.configmaps import ConfigMapWrites
from flowops.testing.objects import PROMOTE_NOW, barrier, flow, flow_status, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for, wait_until

API_VERSION = "flowops.io/v1alpha1"
NEED_TITLE = [{"name": "need-title", "expression": "has(content.title)", "message": "add a title"}]


def ns(env):
    return env["spec"]["namespace"]


def application(name, flow_name=None, version=None):
    default = {k: v for k, v in (("name", flow_name), ("version", version)) if v is not None}
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {"defaultFlow": default} if default else {},
    }


def api_client(name, app=None, flow_name=None, version=None):
    spec: dict = {}
    if app:
        spec["application"] = app
    default = {k: v for k, v in (("name", flow_name), ("version", version)) if v is not None}
    if default:
        spec["defaultFlow"] = default
    return {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": name}, "spec": spec}


def commit(kube, namespace, name, content, number, **spec):
    """Create or edit a flow and wait until version `number` exists; returns the flow status."""
    if kube.get_or_none(FLOWS, name, namespace) is None:
        kube.create(FLOWS, flow(name, content, **spec), namespace)
    else:
        kube.json_patch(FLOWS, name, [{"op": "replace", "path": "/spec/content", "value": content}], namespace)
    return wait_for_number(kube, namespace, name, number)


def status_of(kube, namespace, client):
    return kube.get(APICLIENTS, client, namespace).get("status") or {}


def condition(status, type_):
    return next((c for c in status.get("conditions") or () if c["type"] == type_), {})


def wait_bound(kube, namespace, client, version_id, timeout=30):
    """Until the client is resolved to `version_id` and its ConfigMap holds it."""

    def bound():
        status = status_of(kube, namespace, client)
        cm = kube.get_or_none(CONFIGMAPS, f"{client}-flow", namespace)
        ok = (
            status.get("version") == version_id
            and condition(status, "Ready").get("status") == "True"
            and cm is not None
            and cm["data"]["version"] == version_id
        )
        return ok and status

    return wait_for(bound, timeout=timeout, message=f"{namespace}/{client} bound to {version_id}")


def application_ready(kube, namespace, name):
    """Its Ready condition as last written, once it describes the current spec."""
    app = kube.get(APPLICATIONS, name, namespace)
    status = app.get("status") or {}
    return status.get("observedGeneration") == app["metadata"]["generation"] and condition(status, "Ready")


def wait_refused(kube, namespace, client, reason, timeout=30):
    def refused():
        status = status_of(kube, namespace, client)
        resolved = condition(status, "Resolved")
        return resolved.get("status") == "False" and resolved.get("reason") == reason and status

    return wait_for(refused, timeout=timeout, message=f"{namespace}/{client} Resolved=False {reason}")


def events(kube, namespace, name, reason):
    return [
        e for e in kube.list_events(namespace) if e.get("involvedObject", {}).get("name") == name and e.get("reason") == reason
    ]


def wait_event(kube, namespace, name, reason, timeout=30):
    return wait_for(lambda: events(kube, namespace, name, reason), timeout=timeout, message=f"event {reason} on {name}")


@pytest.fixture
def watch_writes(kube):
    watchers: list[ConfigMapWrites] = []

    def start(namespace: str, client: str) -> ConfigMapWrites:
        watcher = ConfigMapWrites(kube, namespace, f"{client}-flow")
        watchers.append(watcher)
        return watcher

    yield start
    for watcher in watchers:
        watcher.close()


def settle(kube, namespace, *objects, writes=(), as_kube=None):
    """The operator has had its turn at every earlier change, instead of a sleep: a barrier
    on each object whose handlers could write (Environments are cluster-scoped), then each
    ConfigMap watch has delivered every write there was."""
    for resource, name in objects:
        barrier(as_kube or kube, resource, None if resource is ENVIRONMENTS else namespace, name)
    for watcher in writes:
        watcher.catch_up(kube)


# -- resolution ---------------------------------------------------------------------------


def test_every_resolution_case(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    standard_v1 = commit(kube, n, "standard", {"title": "standard 1"}, 1)["latestReadyVersion"]
    standard_v2 = commit(kube, n, "standard", {"title": "standard 2"}, 2)["latestReadyVersion"]
    checkout_v1 = commit(kube, n, "checkout", {"title": "checkout 1"}, 1)["latestReadyVersion"]
    checkout_v2 = commit(kube, n, "checkout", {"title": "checkout 2"}, 2)["latestReadyVersion"]

    kube.create(APPLICATIONS, application("web", "standard", "HEAD"), n)
    kube.create(APPLICATIONS, application("bare"), n)
    kube.create(APICLIENTS, api_client("app-only", app="web"), n)
    kube.create(APICLIENTS, api_client("client-only", flow_name="checkout"), n)
    kube.create(APICLIENTS, api_client("both", app="web", flow_name="checkout", version="1"), n)
    kube.create(APICLIENTS, api_client("version-only", app="web", version=standard_v1), n)
    kube.create(APICLIENTS, api_client("neither"), n)
    kube.create(APICLIENTS, api_client("neither-app", app="bare"), n)

    status = wait_bound(kube, n, "app-only", standard_v2)
    assert (status["flow"], status["number"], status["followsHead"]) == ("standard", 2, True)
    assert status["requested"] == {"name": "standard", "version": "HEAD"}
    assert status["sources"] == {"name": "Application", "version": "Application"}

    status = wait_bound(kube, n, "client-only", checkout_v2)
    assert status["requested"] == {"name": "checkout", "version": "HEAD"}
    assert status["sources"] == {"name": "ApiClient", "version": "Default"}

    status = wait_bound(kube, n, "both", checkout_v1)  # the client wins, setting by setting
    assert (status["flow"], status["number"], status["followsHead"]) == ("checkout", 1, False)
    assert status["sources"] == {"name": "ApiClient", "version": "ApiClient"}

    status = wait_bound(kube, n, "version-only", standard_v1)  # the application's flow at the client's version
    assert (status["flow"], status["number"]) == ("standard", 1)
    assert status["requested"] == {"name": "standard", "version": standard_v1}
    assert status["sources"] == {"name": "Application", "version": "ApiClient"}

    for client, where in (("neither", "spec.application"), ("neither-app", "on its Application bare")):
        status = wait_refused(kube, n, client, "FlowNotSet")
        message = condition(status, "Ready")["message"]
        assert "no flow name: set spec.defaultFlow.name on the ApiClient" in message and where in message
        assert condition(status, "Ready")["status"] == "False" and condition(status, "Stalled")["status"] == "True"
        assert "flow" not in status and kube.get_or_none(CONFIGMAPS, f"{client}-flow", n) is None

    web = wait_for(
        lambda: (s := kube.get(APPLICATIONS, "web", n).get("status") or {}).get("clients") == 3 and s,
        message="web counts 3 clients",
    )
    assert condition(web, "Ready")["status"] == "True" and condition(web, "Ready")["message"] == "default flow standard at HEAD"

    # Without its Application, a client keeps what it has and says why it cannot resolve.
    kube.delete(APPLICATIONS, "web", n)
    status = wait_refused(kube, n, "app-only", "FlowNotSet")
    assert "Application web does not exist" in condition(status, "Resolved")["message"]
    assert status["version"] == standard_v2 and kube.get(CONFIGMAPS, "app-only-flow", n)["data"]["version"] == standard_v2
    status = wait_for(
        lambda: (s := status_of(kube, n, "both")) and "does not exist" in condition(s, "Ready")["message"] and s,
        message="'both' notes the missing application",
    )
    assert condition(status, "Ready")["status"] == "True" and status["version"] == checkout_v1


def test_head_follows_new_ready_versions_but_never_a_broken_one(kube, running_operator, make_environment, watch_writes):
    env = make_environment(policy={"guardrails": NEED_TITLE})
    n = ns(env)
    v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", flow_name="login"), n)
    wait_bound(kube, n, "web", v1)
    writes = watch_writes(n, "web")

    v2 = commit(kube, n, "login", {"title": "v2"}, 2)["latestReadyVersion"]
    wait_bound(kube, n, "web", v2)
    assert json.loads(kube.get(CONFIGMAPS, "web-flow", n)["data"]["flow.json"]) == {"title": "v2"}
    changed = wait_event(kube, n, "web", "BindingChanged")
    assert any(f"version 1 ({v1}) → flow login version 2 ({v2})" in e["message"] for e in changed)

    broken = commit(kube, n, "login", {"no": "title"}, 3)
    assert broken["latestReadyVersion"] == v2  # HEAD stays at the last good version
    settle(kube, n, (FLOWS, "login"), (APICLIENTS, "web"), writes=[writes])
    status = status_of(kube, n, "web")
    assert status["version"] == v2 and condition(status, "Ready")["status"] == "True"
    assert json.loads(kube.get(CONFIGMAPS, "web-flow", n)["data"]["flow.json"]) == {"title": "v2"}
    assert writes.versions == [v2]

    # Pinning the broken version is refused too; the client keeps version 2.
    kube.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"version": "3"}}}, n)
    status = wait_refused(kube, n, "web", "VersionNotReady")
    assert (
        "failed guardrails" in condition(status, "Resolved")["message"]
        and "add a title" in condition(status, "Resolved")["message"]
    )
    assert status["version"] == v2 and writes.versions == [v2]


def test_a_new_head_reaches_every_configmap_before_any_client_status(kube, running_operator, make_environment):
    """Applications read the ConfigMaps: a fan-out writes all of them before the statuses
    that report them. More clients than fan-out workers, so writing each client's status
    right after its ConfigMap would put some statuses before later clients' ConfigMaps."""
    env = make_environment()
    n = ns(env)
    clients = [f"app-{i:02d}" for i in range(FAN_OUT_THREADS * 2 + 4)]
    v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    for client in clients:
        kube.create(APICLIENTS, api_client(client, flow_name="login"), n)
    for client in clients:
        wait_bound(kube, n, client, v1)

    v2 = commit(kube, n, "login", {"title": "v2"}, 2)["latestReadyVersion"]

    def written(resource, name, field):
        """The object's resourceVersion once it names v2 (its write for v2)."""
        found = kube.get_or_none(resource, name, n) or {}
        return int(found["metadata"]["resourceVersion"]) if field(found) == v2 else None

    # One etcd's revisions: a later write has the larger resourceVersion. Each ConfigMap and
    # each client's status is written once for v2, and nothing else writes them meanwhile.
    maps = {
        c: wait_for(lambda c=c: written(CONFIGMAPS, f"{c}-flow", lambda o: (o.get("data") or {}).get("version"))) for c in clients
    }
    statuses = {
        c: wait_for(lambda c=c: written(APICLIENTS, c, lambda o: (o.get("status") or {}).get("version"))) for c in clients
    }
    last_map = max(maps, key=lambda c: maps[c])
    first_status = min(statuses, key=lambda c: statuses[c])
    assert maps[last_map] < statuses[first_status], f"{first_status}'s status was written before {last_map}'s ConfigMap"


def promote(kube, target_env, pname, source_env, flow_name="login", version="HEAD"):
    """Promote and wait for the Promotion to succeed: the only way versions reach production."""
    kube.create(PROMOTIONS, promotion(pname, source_env["metadata"]["name"], flow_name, version), ns(target_env))
    result = wait_for_phase(kube, ns(target_env), pname)
    assert result["phase"] == "Succeeded", result
    return flow_status(kube, ns(target_env), flow_name)


def test_head_refused_in_production_and_a_pinned_number_used(kube, kube_as, running_operator, make_environment, watch_writes):
    dev = make_environment()
    prod = make_environment("Production", policy={"promotion": {**PROMOTE_NOW, "allowedSources": [dev["metadata"]["name"]]}})
    n = ns(prod)
    commit(kube, ns(dev), "login", {"title": "v1"}, 1)
    v1 = promote(kube, prod, "first", dev)["latestReadyVersion"]
    kube.create(APPLICATIONS, application("web", "login"), n)
    kube.create(APICLIENTS, api_client("web-frontend", app="web"), n)

    status = wait_refused(kube, n, "web-frontend", "HeadNotAllowed")
    message = condition(status, "Ready")["message"]
    assert f"HEAD is not allowed in environment {prod['metadata']['name']}" in message
    assert "pin a version id or number in spec.defaultFlow.version" in message
    assert kube.get_or_none(CONFIGMAPS, "web-frontend-flow", n) is None
    assert "flow" not in status and status["sources"] == {"name": "Application", "version": "Default"}
    warning = wait_event(kube, n, "web-frontend", "HeadNotAllowed")[0]
    assert warning["type"] == "Warning" and "pin a version" in warning["message"]
    wait_for(
        lambda: condition(kube.get(APPLICATIONS, "web", n).get("status") or {}, "Ready").get("reason") == "HeadNotAllowed",
        message="application reports HEAD refused",
    )

    # The declarative fix: pin the application's default to a version number.
    kube.merge_patch(APPLICATIONS, "web", {"spec": {"defaultFlow": {"version": "1"}}}, n)
    status = wait_bound(kube, n, "web-frontend", v1)
    assert (status["number"], status["requested"]["version"], status["followsHead"]) == (1, "1", False)
    wait_for(
        lambda: condition(kube.get(APPLICATIONS, "web", n).get("status") or {}, "Ready").get("status") == "True",
        message="application Ready once pinned",
    )
    writes = watch_writes(n, "web-frontend")

    # A promotion lands a new version in production: a pinned client does not move.
    commit(kube, ns(dev), "login", {"title": "v2"}, 2)
    assert promote(kube, prod, "second", dev)["latestReadyNumber"] == 2
    settle(
        kube,
        n,
        (FLOWS, "login"),
        (APICLIENTS, "web-frontend"),
        (APPLICATIONS, "web"),
        writes=[writes],
        as_kube=kube_as("operator"),
    )
    assert status_of(kube, n, "web-frontend")["version"] == v1 and writes.count == 0


def test_a_landing_promotion_moves_head_followers_once(kube, kube_as, running_operator, make_environment, watch_writes):
    dev = make_environment()
    staging = make_environment("Staging", policy={"promotion": {"allowedSources": [dev["metadata"]["name"]]}})
    commit(kube, ns(dev), "login", {"title": "v1"}, 1)
    v1 = promote(kube, staging, "first", dev)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", flow_name="login"), ns(staging))
    wait_bound(kube, ns(staging), "web", v1)
    writes = watch_writes(ns(staging), "web")

    commit(kube, ns(dev), "login", {"title": "v2"}, 2)
    v2 = promote(kube, staging, "second", dev)["latestReadyVersion"]
    wait_bound(kube, ns(staging), "web", v2)
    assert json.loads(kube.get(CONFIGMAPS, "web-flow", ns(staging))["data"]["flow.json"]) == {"title": "v2"}
    settle(kube, ns(staging), (FLOWS, "login"), (APICLIENTS, "web"), writes=[writes], as_kube=kube_as("operator"))
    assert writes.versions == [v2]


def test_policy_change_is_reported_by_head_clients_that_keep_their_config(kube, running_operator, make_environment, watch_writes):
    env = make_environment()
    n, env_name = ns(env), env["metadata"]["name"]
    v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", flow_name="login", version="HEAD"), n)
    kube.create(APICLIENTS, api_client("pinned", flow_name="login", version="1"), n)
    wait_bound(kube, n, "web", v1)
    wait_bound(kube, n, "pinned", v1)
    writes = watch_writes(n, "web")

    kube.merge_patch(ENVIRONMENTS, env_name, {"spec": {"policy": {"allowHeadBindings": False}}})
    status = wait_refused(kube, n, "web", "HeadNotAllowed")
    assert status["version"] == v1 and status["flow"] == "login"  # still what it uses, still spared by retention
    assert f"ConfigMap web-flow keeps flow login version 1 ({v1})" in condition(status, "Ready")["message"]
    assert condition(status_of(kube, n, "pinned"), "Ready")["status"] == "True"

    kube.merge_patch(ENVIRONMENTS, env_name, {"spec": {"policy": {"allowHeadBindings": True}}})
    wait_bound(kube, n, "web", v1)
    settle(kube, n, (ENVIRONMENTS, env_name), (FLOWS, "login"), (APICLIENTS, "web"), (APICLIENTS, "pinned"), writes=[writes])
    assert writes.count == 0  # the binding never changed, so the ConfigMap was never written


def test_pin_to_a_version_number_and_a_typo_keeps_the_last_config(kube, running_operator, make_environment, watch_writes):
    env = make_environment()
    n = ns(env)
    ids = [commit(kube, n, "login", {"title": f"v{i}"}, i)["latestReadyVersion"] for i in (1, 2, 3)]
    kube.create(APICLIENTS, api_client("web", flow_name="login", version="2"), n)
    status = wait_bound(kube, n, "web", ids[1])
    assert (status["number"], status["requested"]["version"], status["sources"]["version"]) == (2, "2", "ApiClient")
    writes = watch_writes(n, "web")

    commit(kube, n, "login", {"title": "v4"}, 4)  # HEAD moves; the pin does not
    kube.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"version": "3"}}}, n)
    wait_bound(kube, n, "web", ids[2])

    kube.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"version": "9"}}}, n)
    status = wait_refused(kube, n, "web", "VersionNotFound")
    assert "flow login has no version 9; it has 1..4" in condition(status, "Ready")["message"]
    assert status["version"] == ids[2] and kube.get(CONFIGMAPS, "web-flow", n)["data"]["version"] == ids[2]
    assert wait_event(kube, n, "web", "VersionNotFound")[0]["type"] == "Warning"
    settle(kube, n, (FLOWS, "login"), (APICLIENTS, "web"), writes=[writes])
    assert writes.versions == [ids[2]]


def test_pins_are_judged_again_when_the_rules_change(kube, running_operator, make_environment, watch_writes):
    """A version keeps no verdict made under older rules: new guardrails refuse a pin to a
    version that fails them (a client holding it keeps its ConfigMap and says so; a new
    client gets none), and rules that let it pass again resolve it again."""
    env = make_environment()
    n, env_name = ns(env), env["metadata"]["name"]
    v1 = commit(kube, n, "login", {"title": "v1", "footer": "f"}, 1)["latestReadyVersion"]
    v2 = commit(kube, n, "login", {"title": "v2"}, 2)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("old", flow_name="login", version="1"), n)
    kube.create(APICLIENTS, api_client("held", flow_name="login", version="2"), n)
    kube.create(APPLICATIONS, application("shop", "login", "2"), n)
    wait_bound(kube, n, "old", v1)
    wait_bound(kube, n, "held", v2)
    writes = watch_writes(n, "held")

    footer = [{"name": "needs-footer", "expression": "has(content.footer)", "message": "add /footer"}]
    kube.merge_patch(ENVIRONMENTS, env_name, {"spec": {"policy": {"guardrails": footer}}})
    status = wait_refused(kube, n, "held", "VersionNotReady")
    resolved = condition(status, "Resolved")["message"]
    assert f"flow login version 2 ({v2}) failed guardrails" in resolved and "add /footer" in resolved, resolved
    assert f"ConfigMap held-flow keeps flow login version 2 ({v2})" in condition(status, "Ready")["message"]
    assert kube.get(CONFIGMAPS, "held-flow", n)["data"]["version"] == v2, "a rule change never takes config away"
    assert wait_event(kube, n, "held", "VersionNotReady")[0]["type"] == "Warning"
    assert flow_status(kube, n, "login")["latestReadyVersion"] == v1, "HEAD: the newest version passing the rules"
    app = wait_for(
        lambda: (
            (s := kube.get(APPLICATIONS, "shop", n).get("status") or {})
            and condition(s, "Ready").get("reason") == "VersionNotReady"
            and s
        ),
        message="the pinned Application refused",
    )
    assert condition(app, "Ready")["status"] == "False"
    version = kube.get(FLOWVERSIONS, "login-00002", n)
    assert version["metadata"]["labels"]["flowops.io/ready"] == "false"

    kube.create(APICLIENTS, api_client("new", flow_name="login", version="2"), n)
    wait_refused(kube, n, "new", "VersionNotReady")
    assert kube.get_or_none(CONFIGMAPS, "new-flow", n) is None, "no config from a version failing the rules"
    settle(kube, n, (APICLIENTS, "old"))
    assert condition(status_of(kube, n, "old"), "Ready")["status"] == "True"

    kube.merge_patch(ENVIRONMENTS, env_name, {"spec": {"policy": {"guardrails": []}}})
    wait_bound(kube, n, "held", v2)
    wait_bound(kube, n, "new", v2)
    settle(kube, n, (ENVIRONMENTS, env_name), (APICLIENTS, "held"), writes=[writes])
    assert writes.count == 0, "the ConfigMap was never rewritten: it held version 2 throughout"


def test_an_application_at_head_reports_a_flow_left_without_a_passing_version(kube, running_operator, make_environment):
    """New rules that every version fails leave the flow without a HEAD: an Application
    whose default follows it says so, and is Ready again once a version passes."""
    env = make_environment()
    n, env_name = ns(env), env["metadata"]["name"]
    commit(kube, n, "login", {"title": "v1"}, 1)
    kube.create(APPLICATIONS, application("web", "login"), n)
    wait_for(lambda: (application_ready(kube, n, "web") or {}).get("status") == "True", message="web Ready")

    footer = [{"name": "needs-footer", "expression": "has(content.footer)", "message": "add /footer"}]
    kube.merge_patch(ENVIRONMENTS, env_name, {"spec": {"policy": {"guardrails": footer}}})
    wait_for(lambda: not flow_status(kube, n, "login").get("latestReadyVersion"), message="login has no HEAD")
    refused = wait_for(
        lambda: (r := application_ready(kube, n, "web") or {}).get("status") == "False" and r,
        message="web says its flow has no passing version",
    )
    assert refused["reason"] == "NoReadyVersion", refused

    kube.merge_patch(ENVIRONMENTS, env_name, {"spec": {"policy": {"guardrails": []}}})
    wait_for(lambda: (application_ready(kube, n, "web") or {}).get("status") == "True", message="web Ready again")


def test_rules_that_cannot_be_used_resolve_and_promote_nothing(kube, running_operator, make_environment):
    """Version 1 passed the rules it was committed under and fails needs-footer, which HEAD
    (version 2) passes, so no re-evaluation reached it. A typo beside needs-footer must not
    let that old verdict stand in: no new binding resolves, nothing is promoted from there."""
    dev = make_environment()
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], policy={"promotion": PROMOTE_NOW})
    n, dev_name = ns(dev), dev["metadata"]["name"]
    commit(kube, n, "login", {"title": "v1"}, 1)
    v2 = commit(kube, n, "login", {"title": "v2", "footer": "f"}, 2)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("held", flow_name="login", version="2"), n)
    wait_bound(kube, n, "held", v2)
    footer = {"name": "needs-footer", "expression": "has(content.footer)", "message": "add /footer"}
    broken = {"name": "broken", "expression": "has(content.", "message": "typo"}
    kube.merge_patch(ENVIRONMENTS, dev_name, {"spec": {"policy": {"guardrails": [footer, broken]}}})
    wait_for(
        lambda: any(g["name"] == "broken" for g in (kube.get(ENVIRONMENTS, dev_name).get("status") or {}).get("guardrails", [])),
        message="the broken rule in the Environment's status",
    )

    kube.create(APICLIENTS, api_client("late", flow_name="login", version="1"), n)
    status = wait_refused(kube, n, "late", "GuardrailsInvalid")
    assert f"environment {dev_name}'s guardrails cannot be used (broken:" in condition(status, "Resolved")["message"]
    assert kube.get_or_none(CONFIGMAPS, "late-flow", n) is None
    result = wait_for_phase_of(kube, ns(staging), promotion("old", dev_name, "login", "1"))
    assert result["phase"] == "Failed" and "rule broken is invalid" in result["message"], result
    assert kube.get_or_none(FLOWS, "login", ns(staging)) is None
    status = wait_refused(kube, n, "held", "GuardrailsInvalid")  # judged again with the rules: it says so
    assert kube.get(CONFIGMAPS, "held-flow", n)["data"]["version"] == v2, "and keeps what it serves"

    kube.merge_patch(ENVIRONMENTS, dev_name, {"spec": {"policy": {"guardrails": [footer]}}})
    assert "add /footer" in condition(wait_refused(kube, n, "late", "VersionNotReady"), "Resolved")["message"]
    wait_bound(kube, n, "held", v2)


def wait_for_phase_of(kube, namespace, body):
    kube.create(PROMOTIONS, body, namespace)
    return wait_for_phase(kube, namespace, body["metadata"]["name"])


def test_no_configmap_is_written_where_no_environment_governs(kube, running_operator, make_environment):
    """The Environment is deleted and its namespace keeps the label that lets the operator
    write ConfigMaps there: nothing governs what would be served, so nothing is written
    until an Environment claims the namespace again."""
    env = make_environment()
    n, env_name = ns(env), env["metadata"]["name"]
    v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", flow_name="login"), n)
    wait_bound(kube, n, "web", v1)

    kube.delete(ENVIRONMENTS, env_name)
    status = wait_refused(kube, n, "web", "NoEnvironment")
    assert f"no Environment manages namespace {n}" in condition(status, "Resolved")["message"]
    assert condition(status, "Stalled")["status"] == "True"
    assert kube.get(CONFIGMAPS, "web-flow", n)["data"]["version"] == v1, "what it serves stays"
    kube.create(APICLIENTS, api_client("new", flow_name="login"), n)
    wait_refused(kube, n, "new", "NoEnvironment")
    assert kube.get_or_none(CONFIGMAPS, "new-flow", n) is None

    kube.create(
        ENVIRONMENTS,
        {"apiVersion": env["apiVersion"], "kind": "Environment", "metadata": {"name": env_name}, "spec": env["spec"]},
    )
    wait_bound(kube, n, "web", v1)
    wait_bound(kube, n, "new", v1)


def test_deleted_flow_keeps_the_last_config_until_it_is_back(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", flow_name="login"), n)
    wait_bound(kube, n, "web", v1)

    kube.delete(FLOWS, "login", n)
    status = wait_refused(kube, n, "web", "FlowNotFound")
    assert f"flow login does not exist in namespace {n}" in condition(status, "Ready")["message"]
    assert condition(status, "Stalled")["status"] == "True"
    cm = kube.get(CONFIGMAPS, "web-flow", n)
    assert cm["data"]["version"] == v1 and json.loads(cm["data"]["flow.json"]) == {"title": "v1"}
    assert status["version"] == v1
    assert wait_event(kube, n, "web", "FlowNotFound")[0]["type"] == "Warning"

    # The re-created flow continues the retained history (spec.deletionPolicy Retain).
    recreated = commit(kube, n, "login", {"title": "again"}, 2)["latestReadyVersion"]
    wait_bound(kube, n, "web", recreated)
    assert json.loads(kube.get(CONFIGMAPS, "web-flow", n)["data"]["flow.json"]) == {"title": "again"}


# -- the materialised ConfigMap -------------------------------------------------------------


def test_configmap_content_and_rewrites_only_when_the_binding_changes(kube, running_operator, make_environment, watch_writes):
    env = make_environment()
    n = ns(env)
    content = {"title": "Sign in", "forms": {"signIn": {"fields": ["identifier", "currentPassword"]}}, "text": {"de": "Anmelden"}}
    login = commit(kube, n, "login", content, 1, transition="RestartAll")
    v1 = login["latestReadyVersion"]
    checkout_v1 = commit(kube, n, "checkout", {"title": "checkout"}, 1)["latestReadyVersion"]
    kube.create(APPLICATIONS, application("web", "login", "HEAD"), n)
    kube.create(APICLIENTS, api_client("web-frontend", app="web"), n)
    kube.create(APICLIENTS, api_client("web-backend", app="web"), n)
    status = wait_bound(kube, n, "web-frontend", v1)
    wait_bound(kube, n, "web-backend", v1)

    cm = kube.get(CONFIGMAPS, "web-frontend-flow", n)
    assert cm["data"]["flow.json"].encode() == canonical_json(content)
    assert {k: cm["data"][k] for k in ("flow", "version", "number", "transition")} == {
        "flow": "login",
        "version": v1,
        "number": "1",
        "transition": "RestartAll",
    }
    assert status["transition"] == "RestartAll" and status["contentHash"] == content_hash(content)
    assert status["configMap"] == "web-frontend-flow"
    labels = cm["metadata"]["labels"]
    assert (labels["flowops.io/apiclient"], labels["flowops.io/flow"], labels["flowops.io/materialised"]) == (
        "web-frontend",
        "login",
        "true",
    )
    selected = kube.list(CONFIGMAPS, n, label_selector="flowops.io/materialised=true,flowops.io/flow=login")
    assert sorted(c["metadata"]["name"] for c in selected) == ["web-backend-flow", "web-frontend-flow"]
    (owner,) = cm["metadata"]["ownerReferences"]
    client_uid = kube.get(APICLIENTS, "web-frontend", n)["metadata"]["uid"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("ApiClient", "web-frontend", client_uid, True)

    frontend, backend = watch_writes(n, "web-frontend"), watch_writes(n, "web-backend")
    # Unrelated changes: labels and annotations, another flow's new version, the flow's metadata.
    kube.merge_patch(APICLIENTS, "web-frontend", {"metadata": {"labels": {"team": "web"}}}, n)
    kube.merge_patch(APPLICATIONS, "web", {"metadata": {"annotations": {"owner": "web-team"}}}, n)
    commit(kube, n, "checkout", {"title": "checkout 2"}, 2)
    kube.merge_patch(FLOWS, "login", {"metadata": {"labels": {"team": "identity"}}}, n)
    kube.merge_patch(APICLIENTS, "web-backend", {"spec": {"defaultFlow": {"name": "login"}}}, n)  # same resolution, new source
    settle(
        kube,
        n,
        (FLOWS, "login"),
        (FLOWS, "checkout"),
        (APICLIENTS, "web-frontend"),
        (APICLIENTS, "web-backend"),
        (APPLICATIONS, "web"),
        writes=[frontend, backend],
    )
    assert (frontend.count, backend.count) == (0, 0)
    assert status_of(kube, n, "web-backend")["sources"]["name"] == "ApiClient"

    # HEAD moves: each follower gets exactly one write.
    v2 = commit(kube, n, "login", {**content, "title": "Sign in 2"}, 2)["latestReadyVersion"]
    wait_bound(kube, n, "web-frontend", v2)
    wait_bound(kube, n, "web-backend", v2)
    # The application's default changes: every client that inherits it moves, once.
    kube.merge_patch(APPLICATIONS, "web", {"spec": {"defaultFlow": {"name": "checkout", "version": "1"}}}, n)
    wait_bound(kube, n, "web-frontend", checkout_v1)
    status = wait_bound(kube, n, "web-backend", v1)  # its own name (login) at the application's version 1
    assert (status["flow"], status["requested"]) == ("login", {"name": "login", "version": "1"})
    settle(
        kube,
        n,
        (FLOWS, "login"),
        (FLOWS, "checkout"),
        (APICLIENTS, "web-frontend"),
        (APICLIENTS, "web-backend"),
        (APPLICATIONS, "web"),
        writes=[frontend, backend],
    )
    assert frontend.versions == [v2, checkout_v1]
    assert backend.versions == [v2, v1]
    cm = kube.get(CONFIGMAPS, "web-frontend-flow", n)
    assert (cm["data"]["flow"], cm["metadata"]["labels"]["flowops.io/flow"]) == ("checkout", "checkout")

    # The ConfigMap belongs to its client: deleting the client removes it.
    kube.delete(APICLIENTS, "web-frontend", n)
    wait_for(lambda: kube.get_or_none(CONFIGMAPS, "web-frontend-flow", n) is None, message="ConfigMap garbage-collected")
    wait_for(lambda: (kube.get(APPLICATIONS, "web", n).get("status") or {}).get("clients") == 1, message="web counts 1 client")


def test_a_client_moved_to_another_application_is_counted_off_one_and_onto_the_other(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    commit(kube, n, "login", {"title": "v1"}, 1)
    for app in ("shop", "blog"):
        kube.create(APPLICATIONS, application(app, flow_name="login"), n)
    kube.create(APICLIENTS, api_client("mover", app="shop"), n)
    kube.create(APICLIENTS, api_client("stayer", app="blog"), n)

    def counts():
        return tuple((kube.get(APPLICATIONS, app, n).get("status") or {}).get("clients") for app in ("shop", "blog"))

    wait_for(lambda: counts() == (1, 1), message="shop and blog count one client each")
    kube.merge_patch(APICLIENTS, "mover", {"spec": {"application": "blog"}}, n)
    wait_until(counts, lambda c: c == (0, 2), message="the move counted off shop and onto blog")


def test_a_new_client_that_read_head_just_before_it_moved_is_moved_too(operator, kube, make_environment):
    """A client (one a GitOps tool applies with a change of its flow, say) reads HEAD, and
    HEAD moves before its status shows which flow it asks for: the Flow's event must still
    reach it. Its reconcile is held between the two, as a slow API call would hold it."""
    from flowops.testing.operatorproc import in_place_of

    held = 8
    stall = {"FLOWOPS_STALL_AT": f"client-resolved:{held}", "FLOWOPS_STALL_FOR": "late"}
    with in_place_of(operator, "held-client.log", stall, grace=held + 5) as process:
        env = make_environment()
        n = ns(env)
        v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
        kube.create(APICLIENTS, api_client("late", flow_name="login"), n)
        wait_for(lambda: f"stalled at client-resolved for {n}/late" in process.tail(lines=2000), message="the client to be held")
        v2 = commit(kube, n, "login", {"title": "v2"}, 2)["latestReadyVersion"]
        assert v2 != v1
        wait_bound(kube, n, "late", v2, timeout=held + 30)


def test_document_too_large_for_a_configmap_is_reported_and_the_last_config_kept(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    v1 = commit(kube, n, "login", {"title": "small"}, 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", flow_name="login"), n)
    wait_bound(kube, n, "web", v1)

    # Fits a Flow (and compresses well in its FlowVersion), but not a ConfigMap.
    big = {"title": "big", "blob": "a" * 1_100_000}
    v2 = commit(kube, n, "login", big, 2)["latestReadyVersion"]
    assert v2 != v1
    status = wait_refused(kube, n, "web", "DocumentTooLarge")
    message = condition(status, "Ready")["message"]
    assert f"flow login version 2 ({v2}) is 1,1" in message and "more than a ConfigMap holds (1,048,576 bytes)" in message
    assert status["version"] == v1 and kube.get(CONFIGMAPS, "web-flow", n)["data"]["version"] == v1
    assert wait_event(kube, n, "web", "DocumentTooLarge")[0]["type"] == "Warning"

    v3 = commit(kube, n, "login", {"title": "small again"}, 3)["latestReadyVersion"]
    wait_bound(kube, n, "web", v3)
    assert flow_status(kube, n, "login")["latestReadyVersion"] == v3


def test_operator_restart_rewrites_nothing(kube, running_operator, make_environment, watch_writes):
    env = make_environment()
    n = ns(env)
    v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    kube.create(APPLICATIONS, application("web", "login"), n)
    kube.create(APICLIENTS, api_client("web-frontend", app="web"), n)
    wait_bound(kube, n, "web-frontend", v1)
    before = status_of(kube, n, "web-frontend")
    writes = watch_writes(n, "web-frontend")

    running_operator.restart()
    # Proof the restarted operator is handling bindings, then proof it rewrote nothing else.
    kube.create(APICLIENTS, api_client("after-restart", app="web"), n)
    wait_bound(kube, n, "after-restart", v1)
    settle(
        kube,
        n,
        (FLOWS, "login"),
        (APICLIENTS, "web-frontend"),
        (APICLIENTS, "after-restart"),
        (APPLICATIONS, "web"),
        writes=[writes],
    )
    assert writes.count == 0
    assert status_of(kube, n, "web-frontend") == before


def test_a_restart_re_resolves_exactly_the_clients_whose_binding_moved_while_down(
    kube, running_operator, make_environment, watch_writes
):
    env = make_environment()
    n = ns(env)
    login = commit(kube, n, "login", {"title": "login"}, 1)["latestReadyVersion"]
    signup = commit(kube, n, "signup", {"title": "signup"}, 1)["latestReadyVersion"]
    retired = commit(kube, n, "retired", {"title": "retired"}, 1)["latestReadyVersion"]
    kube.create(APPLICATIONS, application("web", "login"), n)
    kube.create(APPLICATIONS, application("mobile", "login"), n)
    kube.create(APPLICATIONS, application("legacy", "retired"), n)
    kube.create(APICLIENTS, api_client("orphaned", flow_name="retired"), n)
    wait_bound(kube, n, "orphaned", retired)
    kube.create(APICLIENTS, api_client("steady", app="web"), n)
    kube.create(APICLIENTS, api_client("pinned", flow_name="login", version="1"), n)
    kube.create(APICLIENTS, api_client("moved", app="mobile"), n)
    kube.create(APICLIENTS, api_client("lost", flow_name="login"), n)
    for client in ("steady", "pinned", "moved", "lost"):
        wait_bound(kube, n, client, login)
    before = {c: status_of(kube, n, c) for c in ("steady", "pinned")}
    writes = [watch_writes(n, "steady"), watch_writes(n, "pinned")]

    running_operator.stop()
    kube.merge_patch(APPLICATIONS, "mobile", {"spec": {"defaultFlow": {"name": "signup"}}}, n)
    kube.delete(CONFIGMAPS, "lost-flow", n)
    kube.delete(FLOWS, "retired", n)
    running_operator.start()
    wait_refused(kube, n, "orphaned", "FlowNotFound")  # no event of its flow will come
    wait_for(
        lambda: (application_ready(kube, n, "legacy") or {}).get("reason") == "FlowNotFound",
        message="an Application whose flow went while down reports it",
    )
    wait_bound(kube, n, "moved", signup)  # its Application changed: the client resolves again
    wait_bound(kube, n, "lost", login)  # its ConfigMap went: written again
    settle(kube, n, (APICLIENTS, "steady"), (APICLIENTS, "pinned"), (FLOWS, "login"), writes=writes)
    assert [w.count for w in writes] == [0, 0]
    assert {c: status_of(kube, n, c) for c in ("steady", "pinned")} == before


def test_a_restart_tells_clients_holding_their_binding_idle_and_a_moved_head_still_reaches_them(
    kube, running_operator, make_environment, watch_writes
):
    """Clients whose ConfigMap holds what they ask for are told so without a handler (the
    log names each); one whose flow is edited while the operator is down follows the
    version committed when it starts. Applications whose status says what their default
    resolves to are told so too."""
    env = make_environment()
    n = ns(env)
    login = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    signup = commit(kube, n, "signup", {"title": "signup"}, 1)["latestReadyVersion"]
    kube.create(APPLICATIONS, application("shop", "signup"), n)
    kube.create(APPLICATIONS, application("shop-pinned", "signup", "1"), n)
    kube.create(APPLICATIONS, application("checkout", "login"), n)  # its flow moves while down: still at HEAD
    kube.create(APPLICATIONS, application("bare"), n)
    apps = ("shop", "shop-pinned", "checkout", "bare")
    for app in apps:
        wait_for(
            lambda app=app: (application_ready(kube, n, app) or {}).get("status") == "True", message=f"Application {app} Ready"
        )
    kube.create(APICLIENTS, api_client("steady", flow_name="signup"), n)
    kube.create(APICLIENTS, api_client("pinned", flow_name="signup", version="1"), n)
    kube.create(APICLIENTS, api_client("inheriting", app="shop"), n)
    kube.create(APICLIENTS, api_client("follower", flow_name="login"), n)
    for client in ("steady", "pinned", "inheriting"):
        wait_bound(kube, n, client, signup)
    wait_bound(kube, n, "follower", login)
    unmoved = ("steady", "pinned", "inheriting")
    before = {c: status_of(kube, n, c) for c in unmoved}
    apps_before = {a: kube.get(APPLICATIONS, a, n)["status"] for a in apps}
    writes = [watch_writes(n, c) for c in unmoved]

    # Only a restart resumes: a resume filter is not asked about other events (Kopf asks
    # the first handler registered for a kind about every event).
    created_log = running_operator.log_path.read_text(errors="replace")
    assert not [a for a in apps if f"[{n}/{a}] {applications_resume.RESUMED_IDLE}" in created_log]
    assert not [c for c in unmoved if f"[{n}/{c}] {bindings_resume.RESUMED_IDLE}" in created_log]

    running_operator.stop()
    kube.json_patch(FLOWS, "login", [{"op": "replace", "path": "/spec/content", "value": {"title": "v2"}}], n)
    restarted_at = running_operator.log_path.stat().st_size  # the log is appended to
    running_operator.start()
    moved = wait_for_number(kube, n, "login", 2)["latestReadyVersion"]
    wait_bound(kube, n, "follower", moved)
    settle(kube, n, *[(APICLIENTS, c) for c in unmoved], (FLOWS, "signup"), *[(APPLICATIONS, a) for a in apps], writes=writes)
    assert [w.count for w in writes] == [0, 0, 0]
    assert {c: status_of(kube, n, c) for c in unmoved} == before
    assert {a: kube.get(APPLICATIONS, a, n)["status"] for a in apps} == apps_before
    with running_operator.log_path.open("rb") as fh:
        fh.seek(restarted_at)
        log = fh.read().decode(errors="replace")
    for client in unmoved:
        assert f"[{n}/{client}] {bindings_resume.RESUMED_IDLE}" in log
    for app in apps:
        assert f"[{n}/{app}] {applications_resume.RESUMED_IDLE}" in log


def test_a_recreated_client_takes_over_its_configmap(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    v1 = commit(kube, n, "login", {"title": "v1"}, 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", flow_name="login"), n)
    wait_bound(kube, n, "web", v1)
    kube.delete(APICLIENTS, "web", n)
    uid = kube.create(APICLIENTS, api_client("web", flow_name="login", version="1"), n)["metadata"]["uid"]

    def owned_by_new_client():
        cm = kube.get_or_none(CONFIGMAPS, "web-flow", n)
        return cm is not None and cm["metadata"]["ownerReferences"][0]["uid"] == uid and cm

    cm = wait_for(
        owned_by_new_client, timeout=10, message="ConfigMap owned by the new client, without waiting for garbage collection"
    )
    assert cm["data"]["version"] == v1
    wait_bound(kube, n, "web", v1)


def test_a_configmap_that_is_not_ours_is_never_overwritten(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    commit(kube, n, "login", {"title": "v1"}, 1)
    mine = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-flow"}, "data": {"owner": "someone else"}}
    kube.create(CONFIGMAPS, mine, n)
    kube.create(APICLIENTS, api_client("web", flow_name="login"), n)
    status = wait_refused(kube, n, "web", "ConfigMapConflict")
    assert "ConfigMap web-flow exists and is not managed by flowops" in condition(status, "Ready")["message"]
    assert kube.get(CONFIGMAPS, "web-flow", n)["data"] == {"owner": "someone else"}

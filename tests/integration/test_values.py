"""Per-environment values and environment-owned parts against the real control plane:
documents are stored and promoted with $(values.NAME) references and rendered per
environment into the ApiClient ConfigMaps; a missing value blocks HEAD and promotion;
preserved paths survive promotions; a value change re-renders exactly the clients that
used it and creates no FlowVersion; bad input is refused at admission."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from flowops.kube import APICLIENTS, CONFIGMAPS, ENVIRONMENTS, FLOWS, FLOWVERSIONS, NAMESPACES, PROMOTIONS, Invalid
from flowops.services.versions import read_document
from flowops.testing.configmaps import ConfigMapWrites
from flowops.testing.objects import barrier, flow, flow_status, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for

API_VERSION = "flowops.io/v1alpha1"
KUBECTL_FLOWOPS = Path(sys.executable).parent / "kubectl-flowops"
# Promote now, pinned, with clients following HEAD: set explicitly, whatever the defaults
# of environments with an upstream are.
PROMOTE_NOW = {"promotion": {"requireReview": False, "separationOfDuties": False}, "allowHeadBindings": True}

DOC = {
    "title": "Sign in",
    "links": {"login": "$(values.baseUrl)/self-service/login", "docs": "write $$(values.NAME) to use a value"},
    "emailTemplates": {"recoveryCode": {"from": "$(values.sender)", "subject": "recovery.subject"}},
    "translations": {"en": {"recovery.subject": "Your code for {provider}", "title": "Sign in with {provider}"}},
}
ENVIRONMENT_VALUES = {
    "Development": {"baseUrl": "https://auth.dev.example.com", "sender": "dev-noreply@example.com"},
    "Staging": {"baseUrl": "https://auth.staging.example.com", "sender": "staging-noreply@example.com"},
    "Production": {"baseUrl": "https://auth.example.com", "sender": "noreply@example.com", "unused": "kept for later"},
}


def ns(env):
    return env["spec"]["namespace"]


def name(env):
    return env["metadata"]["name"]


def api_client(client, flow_name, version="HEAD"):
    return {
        "apiVersion": API_VERSION,
        "kind": "ApiClient",
        "metadata": {"name": client},
        "spec": {"defaultFlow": {"name": flow_name, "version": version}},
    }


def condition(status, type_):
    return next((c for c in status.get("conditions") or () if c["type"] == type_), {})


def rendered_configmap(kube, namespace, client, version_id, timeout=30):
    """The client's ConfigMap once it holds `version_id` and the client says so."""

    def ready():
        cm = kube.get_or_none(CONFIGMAPS, f"{client}-flow", namespace)
        status = kube.get(APICLIENTS, client, namespace).get("status") or {}
        return (
            cm is not None
            and cm["data"]["version"] == version_id
            and status.get("version") == version_id
            and condition(status, "Ready").get("status") == "True"
            and cm
        )

    return wait_for(ready, timeout=timeout, message=f"{namespace}/{client}-flow holds {version_id}")


def wait_event(kube, namespace, involved, reason):
    return wait_for(
        lambda: [
            e
            for e in kube.list_events(namespace)
            if e.get("involvedObject", {}).get("name") == involved and e.get("reason") == reason
        ],
        message=f"event {reason} on {involved}",
    )


def promote_pinned(kube, target_env, source_env, flow_name, version_id, pname, **spec):
    kube.create(PROMOTIONS, promotion(pname, name(source_env), flow_name, version_id, **spec), ns(target_env))
    return wait_for_phase(kube, ns(target_env), pname)


def version_count(kube, namespace):
    return len(kube.list(FLOWVERSIONS, namespace))


@pytest.fixture
def watch(kube):
    watchers: list[ConfigMapWrites] = []

    def start(namespace, client):
        watcher = ConfigMapWrites(kube, namespace, f"{client}-flow")
        watchers.append(watcher)
        return watcher

    yield start
    for watcher in watchers:
        watcher.close()


def show(cluster, *args):
    cmd = [str(KUBECTL_FLOWOPS), "show", *args, "--kubeconfig", str(cluster.kubeconfig), "--context", "flowops-viewer"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": ""})
    assert "Traceback" not in done.stderr, done.stderr
    return done


# -- rendering per environment ------------------------------------------------------------


def test_one_document_promoted_unchanged_renders_each_environments_values(kube, cluster, running_operator, make_environment):
    dev = make_environment("Development", values=ENVIRONMENT_VALUES["Development"])
    staging = make_environment("Staging", upstream=name(dev), values=ENVIRONMENT_VALUES["Staging"], policy=PROMOTE_NOW)
    prod = make_environment("Production", upstream=name(staging), values=ENVIRONMENT_VALUES["Production"], policy=PROMOTE_NOW)

    kube.create(FLOWS, flow("standard", DOC), ns(dev))
    dev_head = wait_for_number(kube, ns(dev), "standard", 1)["latestReadyVersion"]
    assert dev_head, "a document whose references are all defined becomes HEAD"
    staging_result = promote_pinned(kube, staging, dev, "standard", dev_head, "to-staging")
    assert staging_result["phase"] == "Succeeded", staging_result
    prod_result = promote_pinned(kube, prod, staging, "standard", staging_result["targetVersion"], "to-prod")
    assert prod_result["phase"] == "Succeeded", prod_result
    heads = {"Development": dev_head, "Staging": staging_result["targetVersion"], "Production": prod_result["targetVersion"]}

    for env in (dev, staging, prod):
        kube.create(APICLIENTS, api_client("web", "standard"), ns(env))
    for env in (dev, staging, prod):
        tier, head = env["spec"]["tier"], heads[env["spec"]["tier"]]
        own = ENVIRONMENT_VALUES[tier]
        # Stored and promoted with the references: every environment holds the same document.
        assert read_document(kube, ns(env), "standard", head) == DOC
        cm = rendered_configmap(kube, ns(env), "web", head)
        served = json.loads(cm["data"]["flow.json"])
        assert served["links"]["login"] == f"{own['baseUrl']}/self-service/login"
        assert served["emailTemplates"]["recoveryCode"]["from"] == own["sender"]
        assert served["links"]["docs"] == "write $(values.NAME) to use a value"
        assert served["translations"] == DOC["translations"], "ICU placeholders are untouched"
        assert json.loads(cm["data"]["values.json"]) == {"baseUrl": own["baseUrl"], "sender": own["sender"]}
        assert set(kube.get(APICLIENTS, "web", ns(env))["status"]["values"]) == {"baseUrl", "sender"}

    # "In sync" means the same flow, not the same URLs.
    sync = wait_for(
        lambda: (
            (flow_status(kube, ns(prod), "standard").get("sync") or {}).get("state") == "InSync"
            and flow_status(kube, ns(prod), "standard")["sync"]
        ),
        message="production in sync with staging",
    )
    assert sync["differingPaths"] == 0

    rendered = show(cluster, "standard", "/links/login", "-n", name(prod), "--rendered", "-o", "json")
    assert rendered.returncode == 0 and json.loads(rendered.stdout) == "https://auth.example.com/self-service/login", (
        rendered.stderr
    )
    stored = show(cluster, "standard", "/links/login", "-n", name(prod), "-o", "json")
    assert json.loads(stored.stdout) == "$(values.baseUrl)/self-service/login"


# -- a missing value blocks HEAD and promotion ---------------------------------------------


def test_missing_value_blocks_head_and_promotion_and_nothing_is_written(kube, cluster, running_operator, make_environment, watch):
    dev = make_environment("Development", values={"baseUrl": "https://dev.example.com"})
    staging = make_environment(
        "Staging", upstream=name(dev), values={"baseUrl": "https://staging.example.com"}, policy=PROMOTE_NOW
    )
    v1_doc = {"title": "v1", "login": "$(values.baseUrl)/login"}
    kube.create(FLOWS, flow("standard", v1_doc), ns(dev))
    v1 = wait_for_number(kube, ns(dev), "standard", 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", "standard"), ns(dev))
    rendered_configmap(kube, ns(dev), "web", v1)
    writes = watch(ns(dev), "web")

    v2_doc = {"title": "v2", "login": "$(values.baseUrl)/login", "support": {"url": "$(values.supportUrl)"}}
    kube.json_patch(FLOWS, "standard", [{"op": "replace", "path": "/spec/content", "value": v2_doc}], ns(dev))
    status = wait_for_number(kube, ns(dev), "standard", 2)
    assert status["latestReadyVersion"] == v1, "a version referencing an undefined value never becomes HEAD"
    message = condition(status, "Ready")["message"]
    assert f"$(values.supportUrl) at /support/url is not defined in environment {name(dev)}" in message, message
    assert "add supportUrl to the Environment's spec.values" in message
    v2 = status["latestCreatedVersion"]
    results = kube.get(FLOWVERSIONS, f"standard-{status['latestCreatedNumber']:05d}", ns(dev))["status"]["guardrails"]
    failed = next(r for r in results if r["rule"] == "values-defined")
    assert not failed["passed"] and failed["violations"][0]["path"] == "/support/url"
    refused = show(cluster, "standard@2", "-n", name(dev), "--rendered")
    assert refused.returncode != 0 and "supportUrl (used at /support/url)" in refused.stderr, refused.stderr

    # Defining the value lets version 2 become HEAD: the client's ConfigMap is written once,
    # with version 2, so version 2 never reached it before.
    kube.merge_patch(ENVIRONMENTS, name(dev), {"spec": {"values": {"supportUrl": "https://dev.example.com/help"}}})
    cm = rendered_configmap(kube, ns(dev), "web", v2)
    assert json.loads(cm["data"]["flow.json"])["support"]["url"] == "https://dev.example.com/help"
    wait_for(lambda: writes.count >= 1, message="the ConfigMap write")
    assert [w["version"] for w in writes.writes] == [v2]

    # Staging lacks supportUrl: the promotion fails before writing, naming it.
    result = promote_pinned(kube, staging, dev, "standard", v2, "to-staging")
    assert result["phase"] == "Failed", result
    wait_event(kube, ns(staging), "to-staging", "ValuesNotDefined")
    assert f"environment {name(staging)} does not define 1 value(s)" in result["message"]
    assert "supportUrl (used at /support/url)" in result["message"] and "nothing was written" in result["message"]
    assert kube.get_or_none(FLOWS, "standard", ns(staging)) is None
    assert version_count(kube, ns(staging)) == 0

    # A malformed reference is named with the fix, and does not become HEAD either.
    kube.json_patch(
        FLOWS, "standard", [{"op": "replace", "path": "/spec/content/login", "value": "$(values.base url)/login"}], ns(dev)
    )
    status = wait_for_number(kube, ns(dev), "standard", 3)
    assert status["latestReadyVersion"] == v2
    assert "malformed reference '$(values.base url)/login'" in condition(status, "Ready")["message"]


# -- environment-owned parts -----------------------------------------------------------------


def test_preserved_paths_survive_review_and_promotion(kube, running_operator, make_environment):
    dev = make_environment("Development")
    staging = make_environment(
        "Staging", upstream=name(dev), protected=False, preservedPaths=["/emailTemplates/*/from", "/theme"], policy=PROMOTE_NOW
    )
    doc = {
        "title": "v1",
        "emailTemplates": {"recovery": {"from": "dev@example.com", "subject": "s1"}},
        "theme": {"color": "grey"},
    }
    kube.create(FLOWS, flow("standard", doc), ns(dev))
    v1 = wait_for_number(kube, ns(dev), "standard", 1)["latestReadyVersion"]
    first = promote_pinned(kube, staging, dev, "standard", v1, "seed")
    assert first["phase"] == "Succeeded" and "preserved" not in first["plan"], "a new flow takes the source's parts"

    # Staging owns its sender and theme.
    kube.json_patch(
        FLOWS,
        "standard",
        [
            {"op": "replace", "path": "/spec/content/emailTemplates/recovery/from", "value": "staging@example.com"},
            {"op": "replace", "path": "/spec/content/theme", "value": {"color": "green"}},
        ],
        ns(staging),
    )
    wait_for_number(kube, ns(staging), "standard", 2)
    changed = {
        "title": "v2",
        "emailTemplates": {"recovery": {"from": "dev2@example.com", "subject": "s2"}},
        "theme": {"color": "blue"},
    }
    kube.json_patch(FLOWS, "standard", [{"op": "replace", "path": "/spec/content", "value": changed}], ns(dev))
    v2 = wait_for_number(kube, ns(dev), "standard", 2)["latestReadyVersion"]

    kube.create(PROMOTIONS, promotion("reviewed", name(dev), "standard", v2, review=True), ns(staging))
    waiting = wait_for_phase(kube, ns(staging), "reviewed", ("AwaitingApproval", "Failed"))
    assert waiting["phase"] == "AwaitingApproval", waiting
    assert [c["path"] for c in waiting["plan"]["changes"]] == ["/emailTemplates/recovery/subject", "/title"]
    assert waiting["plan"]["preserved"] == [
        {"path": "/theme", "preservedPath": "/theme", "value": {"color": "green"}, "offered": {"color": "blue"}},
        {
            "path": "/emailTemplates/recovery/from",
            "preservedPath": "/emailTemplates/*/from",
            "value": "staging@example.com",
            "offered": "dev2@example.com",
        },
    ]
    kube.merge_patch(PROMOTIONS, "reviewed", {"spec": {"approved": True}}, ns(staging))
    landed = wait_for_phase(kube, ns(staging), "reviewed")
    assert landed["phase"] == "Succeeded", landed
    content = kube.get(FLOWS, "standard", ns(staging))["spec"]["content"]
    assert content == {
        "title": "v2",
        "emailTemplates": {"recovery": {"from": "staging@example.com", "subject": "s2"}},
        "theme": {"color": "green"},
    }

    # Differences only where staging owns the content do not make it out of sync.
    sync = wait_for(
        lambda: (
            (s := flow_status(kube, ns(staging), "standard").get("sync") or {}).get("version") == landed["targetVersion"] and s
        ),
        message="staging sync compares the promoted version",
    )
    assert (sync["state"], sync["differingPaths"], sync["preservedPaths"]) == ("InSync", 0, 2)

    # Promoting only an owned part is refused, naming it; nothing is written.
    count = flow_status(kube, ns(staging), "standard")["latestCreatedNumber"]
    result = promote_pinned(kube, staging, dev, "standard", v2, "only-theme", changes={"include": ["/theme"]})
    assert result["phase"] == "Failed", result
    wait_event(kube, ns(staging), "only-theme", "PreservedPath")
    assert f"/theme is owned by environment {name(staging)}" in result["message"]
    assert flow_status(kube, ns(staging), "standard")["latestCreatedNumber"] == count

    # Giving the theme back to the flow makes the difference count again, without any flow event.
    kube.merge_patch(ENVIRONMENTS, name(staging), {"spec": {"preservedPaths": ["/emailTemplates/*/from"]}})
    sync = wait_for(
        lambda: (s := flow_status(kube, ns(staging), "standard")["sync"]).get("preservedPaths") == 1 and s,
        message="staging sync compared again",
    )
    assert (sync["state"], sync["differingPaths"]) == ("OutOfSync", 1)
    kube.merge_patch(ENVIRONMENTS, name(staging), {"spec": {"preservedPaths": None}})
    sync = wait_for(
        lambda: "preservedPaths" not in (s := flow_status(kube, ns(staging), "standard")["sync"]) and s,
        message="staging sync without owned parts",
    )
    assert (sync["state"], sync["differingPaths"]) == ("OutOfSync", 2)


# -- a value change re-renders exactly the clients that use it --------------------------------


def test_value_change_rerenders_only_the_clients_using_it_and_creates_no_version(kube, running_operator, make_environment, watch):
    env = make_environment("Development", values={"baseUrl": "https://a.example.com", "sender": "a@example.com", "unused": "u1"})
    n = ns(env)
    documents = {"login": {"login": "$(values.baseUrl)/login"}, "mail": {"from": "$(values.sender)"}, "plain": {"title": "plain"}}
    heads = {}
    for flow_name, content in documents.items():
        kube.create(FLOWS, flow(flow_name, content), n)
        heads[flow_name] = wait_for_number(kube, n, flow_name, 1)["latestReadyVersion"]
    clients = {"a": "login", "b": "login", "c": "mail", "d": "plain"}
    for client, flow_name in clients.items():
        kube.create(APICLIENTS, api_client(client, flow_name), n)
    for client, flow_name in clients.items():
        rendered_configmap(kube, n, client, heads[flow_name])
    writes = {client: watch(n, client) for client in clients}
    versions_before = version_count(kube, n)

    # A value nobody uses: nothing to re-render (the next change is the barrier).
    kube.merge_patch(ENVIRONMENTS, name(env), {"spec": {"values": {"unused": "u2"}}})
    kube.merge_patch(ENVIRONMENTS, name(env), {"spec": {"values": {"baseUrl": "https://b.example.com"}}})
    for client in ("a", "b"):
        wait_for(lambda watcher=writes[client]: watcher.count >= 1, message=f"{client}-flow re-rendered")
        assert json.loads(writes[client].writes[-1]["flow.json"]) == {"login": "https://b.example.com/login"}
    record = wait_for(
        lambda: (
            (s := kube.get(ENVIRONMENTS, name(env)).get("status") or {}).get("valuesRendered", {}).get("values") == ["baseUrl"]
            and s["valuesRendered"]
        ),
        message="the Environment records the re-rendering",
    )
    assert (record["flows"], record["clients"]) == (["login"], ["a", "b"])

    # Barrier: a second change, to the value only c uses.
    kube.merge_patch(ENVIRONMENTS, name(env), {"spec": {"values": {"sender": "b@example.com"}}})
    wait_for(lambda: writes["c"].count >= 1, message="c-flow re-rendered")
    assert json.loads(writes["c"].writes[-1]["flow.json"]) == {"from": "b@example.com"}
    record = wait_for(
        lambda: (
            (s := kube.get(ENVIRONMENTS, name(env)).get("status") or {}).get("valuesRendered", {}).get("values") == ["sender"]
            and s["valuesRendered"]
        ),
        message="the second re-rendering recorded",
    )
    assert (record["flows"], record["clients"]) == (["mail"], ["c"])
    assert {client: w.count for client, w in writes.items()} == {"a": 1, "b": 1, "c": 1, "d": 0}

    assert version_count(kube, n) == versions_before, "a value change creates no FlowVersion"
    assert all(flow_status(kube, n, f)["latestCreatedNumber"] == 1 for f in documents)
    events = [
        e
        for e in kube.list_events("default")
        if e.get("involvedObject", {}).get("name") == name(env) and e.get("reason") == "ValuesRendered"
    ]
    messages = " | ".join(e["message"] for e in events)
    assert "value(s) baseUrl changed: re-rendered flow(s) login" in messages and "ApiClient(s) a, b" in messages, messages

    # Removing a value in use: the client says so and keeps what it has; nothing half-rendered.
    kube.merge_patch(ENVIRONMENTS, name(env), {"spec": {"values": {"sender": None}}})
    wait_for(
        lambda: condition(kube.get(APICLIENTS, "c", n).get("status") or {}, "Ready").get("status") == "False",
        message="c reports it cannot be served",
    )
    wait_for(
        lambda: "$(values.sender) at /from is not defined" in condition(flow_status(kube, n, "mail"), "Ready").get("message", ""),
        message="the mail flow judged again without sender",
    )
    assert writes["c"].count == 1
    # Barrier: defined again (with a new text), the flow is HEAD again and c is re-rendered once.
    kube.merge_patch(ENVIRONMENTS, name(env), {"spec": {"values": {"sender": "c@example.com"}}})
    wait_for(lambda: writes["c"].count >= 2, message="c-flow re-rendered again")
    assert json.loads(writes["c"].writes[-1]["flow.json"]) == {"from": "c@example.com"}
    rendered_configmap(kube, n, "c", heads["mail"])
    assert {client: w.count for client, w in writes.items()} == {"a": 1, "b": 1, "c": 2, "d": 0}


def test_a_value_that_grows_the_document_past_a_configmap_is_named_and_nothing_is_written(
    kube, running_operator, make_environment, watch
):
    env = make_environment("Development", values={"banner": "short"})
    n = ns(env)
    kube.create(FLOWS, flow("banners", {"banners": ["$(values.banner)"] * 600}), n)
    head = wait_for_number(kube, n, "banners", 1)["latestReadyVersion"]
    kube.create(APICLIENTS, api_client("web", "banners"), n)
    rendered_configmap(kube, n, "web", head)
    writes = watch(n, "web")

    # 600 references to 2,048 characters: about 1.2 MB rendered from a stored document of 10 kB.
    kube.merge_patch(ENVIRONMENTS, name(env), {"spec": {"values": {"banner": "b" * 2048}}})

    def refused():
        status = kube.get(APICLIENTS, "web", n).get("status") or {}
        resolved = condition(status, "Resolved")
        return resolved.get("reason") == "DocumentTooLarge" and resolved["message"]

    message = wait_for(refused, message="web reports DocumentTooLarge")
    assert "more than a ConfigMap holds (1,048,576 bytes): the stored document is " in message, message
    assert "grew it most: banner (+1,219,200 bytes); shorten those values" in message, message
    assert "split it" not in message
    assert writes.count == 0
    assert json.loads(kube.get(CONFIGMAPS, "web-flow", n)["data"]["flow.json"]) == {"banners": ["short"] * 600}


# -- values of a protected environment: told, and held by a freeze --------------------------


def events_on(kube, namespace, involved, reason):
    return [
        e
        for e in kube.list_events(namespace)
        if e.get("involvedObject", {}).get("name") == involved and e.get("reason") == reason
    ]


def test_a_production_value_change_is_told_naming_the_writer_and_waits_for_a_freeze(
    kube, kube_as, running_operator, make_environment, watch
):
    dev = make_environment("Development", values=ENVIRONMENT_VALUES["Development"])
    # Protected by its tier: no spec.protected. Promoting without review only keeps the setup short.
    prod = make_environment(
        "Production",
        upstream=name(dev),
        values=ENVIRONMENT_VALUES["Production"],
        policy={"promotion": {"requireReview": False, "separationOfDuties": False}},
    )
    n = ns(prod)
    kube.create(FLOWS, flow("standard", DOC), ns(dev))
    dev_head = wait_for_number(kube, ns(dev), "standard", 1)["latestReadyVersion"]
    landed = promote_pinned(kube, prod, dev, "standard", dev_head, "to-prod")
    assert landed["phase"] == "Succeeded", landed
    version = landed["targetVersion"]
    kube.create(APICLIENTS, api_client("web", "standard", version), n)  # pinned: production follows no HEAD
    rendered_configmap(kube, n, "web", version)
    writes = watch(n, "web")
    admin = kube_as("admin")  # whoever may update Environments: cluster admins

    # Served at once, without a Promotion: told as a Warning naming the value and the writer.
    admin.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"values": {"baseUrl": "https://login.example.com"}}})
    (warning,) = wait_event(kube, "default", name(prod), "ValuesChanged")
    assert warning["type"] == "Warning"
    assert warning["message"] == ("spec.values baseUrl changed by flowops-admin: served to 1 ApiClient without a Promotion"), (
        warning["message"]
    )
    wait_for(lambda: writes.count >= 1, message="web-flow re-rendered")
    assert json.loads(writes.writes[-1]["flow.json"])["links"]["login"] == "https://login.example.com/self-service/login"
    (told,) = wait_event(kube, n, "web", "ValuesRendered")
    assert told["message"].startswith(
        f"spec.values baseUrl of Environment {name(prod)} changed by flowops-admin: re-rendered flow standard version 1"
    ), told["message"]
    assert len(events_on(kube, n, "web", "BindingChanged")) == 1, "only the first rendering"
    (rendered,) = wait_event(kube, "default", name(prod), "ValuesRendered")
    assert rendered["message"].endswith("ApiClient(s) web; no FlowVersion was created (spec changed by flowops-admin)")

    # Frozen: the next change is told and waits; the client keeps its ConfigMap and says why.
    admin.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"freeze": {"reason": "release week"}}})
    barrier(kube, ENVIRONMENTS, None, name(prod))  # handled on its own, not folded into the next change
    admin.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"values": {"sender": "support@example.com"}}})
    resolved = wait_for(
        lambda: (c := condition(kube.get(APICLIENTS, "web", n).get("status") or {}, "Resolved")).get("reason") == "Frozen" and c,
        message="web reports the values change waits for the freeze",
    )
    assert resolved["status"] == "False"
    assert f"environment {name(prod)} is frozen (release week): the change of spec.values sender waits" in resolved["message"]
    status = kube.get(APICLIENTS, "web", n)["status"]
    assert condition(status, "Stalled") == {} and condition(status, "Ready") == {}, "waiting for a person, no fault"
    frozen_told = wait_for(
        lambda: [e for e in events_on(kube, "default", name(prod), "ValuesChanged") if "sender" in e["message"]],
        message="the held change told",
    )
    assert (
        "spec.values sender changed by flowops-admin while the environment is frozen (release week)"
        in (frozen_told[0]["message"])
    )
    assert writes.count == 1, "nothing rendered while frozen"
    cm = kube.get(CONFIGMAPS, "web-flow", n)
    assert json.loads(cm["data"]["values.json"])["sender"] == ENVIRONMENT_VALUES["Production"]["sender"]

    # Lifted: the held change is rendered.
    admin.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"freeze": None}})
    wait_for(lambda: writes.count >= 2, message="web-flow rendered once the freeze is lifted")
    served = json.loads(writes.writes[-1]["flow.json"])
    assert served["emailTemplates"]["recoveryCode"]["from"] == "support@example.com"
    assert served["links"]["login"] == "https://login.example.com/self-service/login"
    rendered_configmap(kube, n, "web", version)  # Ready again
    assert any("sender" in e["message"] for e in events_on(kube, n, "web", "ValuesRendered"))


# -- bad input at admission ------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec_extra, words",
    [
        ({"values": {f"v{i}": "x" for i in range(129)}}, ["spec.values", "128"]),
        ({"values": {"port": 8080}}, ["spec.values.port", "string"]),
        ({"values": {"base url": "x"}}, ["spec.values", "start with a letter and use only letters, digits, - or _"]),
        ({"values": {"baseUrl": "x" * 2049}}, ["spec.values.baseUrl", "2048"]),
        (
            {"values": {"baseUrl": "https://auth.example.com", "loginUrl": "https://auth.example.com\n"}},
            ["spec.values.loginUrl ends with a line break", "write the value with >- or as a quoted string"],
        ),
        ({"values": {"sender": " no-reply@example.com"}}, ["spec.values.sender starts or ends with a space"]),
        ({"values": {"brand": "Exa\u202eelpm"}}, ["spec.values.brand", "bidirectional-formatting", "U+202A to U+202E"]),
        ({"values": {"brand": "Ex\u200bample"}}, ["spec.values.brand", "zero-width"]),
        ({"values": {"brand": "Ex\x7fample\u2066"}}, ["spec.values.brand", "control"]),
        ({"values": {"sender": "Support {team} <help@example.com>"}}, ["spec.values.sender holds { or }", "ICU MessageFormat"]),
        ({"preservedPaths": ["emailTemplates/*/from"]}, ["spec.preservedPaths[0]", "JSON Pointer", "starts with /"]),
        ({"preservedPaths": ["/a/~2b"]}, ["spec.preservedPaths[0]", "~0", "~1"]),
    ],
)
def test_bad_values_and_preserved_paths_are_refused_at_admission(kube, cluster, spec_extra, words):
    env_name = f"bad-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": API_VERSION,
        "kind": "Environment",
        "metadata": {"name": env_name},
        "spec": {"namespace": f"ns-{env_name}", "tier": "Development", **spec_extra},
    }
    with pytest.raises(Invalid) as denied:
        kube.create(ENVIRONMENTS, body)
    for word in words:
        assert word in denied.value.message, denied.value.message
    assert kube.get_or_none(ENVIRONMENTS, env_name) is None


def test_a_bad_change_to_an_existing_environment_is_refused_and_nothing_changes(kube, cluster):
    env_name = f"vals-{uuid.uuid4().hex[:6]}"
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{env_name}"}})
    kube.create(
        ENVIRONMENTS,
        {
            "apiVersion": API_VERSION,
            "kind": "Environment",
            "metadata": {"name": env_name},
            "spec": {"namespace": f"ns-{env_name}", "tier": "Development", "values": {"baseUrl": "https://ok"}},
        },
    )
    with pytest.raises(Invalid) as denied:
        kube.merge_patch(ENVIRONMENTS, env_name, {"spec": {"values": {"sender": 42}, "preservedPaths": ["/ok"]}})
    assert "spec.values.sender" in denied.value.message
    assert kube.get(ENVIRONMENTS, env_name)["spec"].get("values") == {"baseUrl": "https://ok"}
    assert "preservedPaths" not in kube.get(ENVIRONMENTS, env_name)["spec"]

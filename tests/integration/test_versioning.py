"""Flow versioning against the real control plane: commits, manual mode, retention,
immutability, garbage collection and large documents built from real locale data."""

from __future__ import annotations

import json

import pytest

from flowops.domain.tracking import FLUX_NAME, FLUX_NAMESPACE
from flowops.kube import FLOWS, FLOWVERSIONS, ApiError, Invalid
from flowops.names import ANN_CHANGED_BY as CHANGED_BY
from flowops.services import versions as version_store
from flowops.testing import documents
from flowops.testing.admission import grant
from flowops.testing.objects import BARRIER_LABEL, LAST_HANDLED, barrier, flow, flow_status, wait_for_number
from flowops.testing.waiting import wait_for


def ns(env):
    return env["spec"]["namespace"]


def version_objects(kube, namespace, name):
    items = kube.list(FLOWVERSIONS, namespace, label_selector=f"flowops.io/flow={name}")
    return sorted(items, key=lambda v: v["spec"]["number"])


def settle(kube, namespace, name, count):
    """The operator has had its turn at every earlier change (a barrier, not a sleep) and
    committed nothing for them."""
    barrier(kube, FLOWS, namespace, name)
    assert len(version_objects(kube, namespace, name)) == count


def test_version_record_id_number_message_transition_parent(kube, running_operator, make_environment):
    env = make_environment()
    kube.create(
        FLOWS, flow("login", {"step": 1}, annotations={"flowops.io/change-cause": "first cut"}, transition="CarryOver"), ns(env)
    )
    wait_for_number(kube, ns(env), "login", 1)
    kube.merge_patch(
        FLOWS,
        "login",
        {"metadata": {"annotations": {"flowops.io/change-cause": "second"}}, "spec": {"content": {"step": 2}}},
        ns(env),
    )
    status = wait_for_number(kube, ns(env), "login", 2)
    first, second = version_objects(kube, ns(env), "login")
    assert first["spec"]["message"] == "first cut" and second["spec"]["message"] == "second"
    assert second["spec"]["parent"] == first["spec"]["id"]
    assert second["spec"]["id"] > first["spec"]["id"] and len(second["spec"]["id"]) == 20
    assert second["spec"]["transition"] == "CarryOver"
    assert second["metadata"]["name"] == "login-00002", "the name holds the number: the API server refuses a second version 2"
    assert status["latestReadyVersion"] == second["spec"]["id"] == status["latestCreatedVersion"]
    assert status["versionCount"] == 2 and status["uncommitted"] is False
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (
        ready["status"] == "True" and ready["observedGeneration"] == kube.get(FLOWS, "login", ns(env))["metadata"]["generation"]
    )
    events = [e for e in kube.list_events(ns(env)) if e.get("reason") == "VersionCreated"]
    assert len(events) >= 2


def test_each_version_names_who_changed_the_flow_as_the_api_server_recorded_it(kube, kube_as, running_operator, make_environment):
    """Who wrote the Flow is stamped by the API server, not typed: a forged stamp is
    replaced, and Flux's labels written by a person name no tool in the version."""
    env = make_environment()
    n = ns(env)
    gitops = "system:serviceaccount:flux-system:flowops-applier"
    body = flow("login", {"title": "v1"})
    body["metadata"]["labels"] = {FLUX_NAME: "fleet", FLUX_NAMESPACE: "flux-system"}
    body["metadata"]["annotations"] = {CHANGED_BY: gitops}
    created = kube_as("editor").create(FLOWS, body, n)
    assert created["metadata"]["annotations"][CHANGED_BY] == "alice-editor"
    wait_for_number(kube, n, "login", 1)
    first = kube.get(FLOWVERSIONS, "login-00001", n)["spec"]
    assert first["changedBy"] == "alice-editor" and "appliedBy" not in first, first

    grant(kube, n, gitops, {"apiGroups": ["flowops.io"], "resources": ["flows"], "verbs": ["patch", "get"]})
    kube_as("gitops").merge_patch(FLOWS, "login", {"spec": {"content": {"title": "v2"}}}, n)
    wait_for_number(kube, n, "login", 2)
    second = kube.get(FLOWVERSIONS, "login-00002", n)["spec"]
    assert second["changedBy"] == gitops
    assert second["appliedBy"] == {"tool": "Flux", "source": "Kustomization flux-system/fleet"}
    created_events = [e["message"] for e in kube.list_events(n) if e.get("reason") == "VersionCreated"]
    assert any("version 1 " in m and "Flow last changed by alice-editor" in m for m in created_events), created_events

    # Writes that leave the spec alone (a label, a commit annotation; the operator's own) keep the stamp.
    kube_as("editor").merge_patch(FLOWS, "login", {"metadata": {"labels": {"team": "identity"}}}, n)
    barrier(kube_as("operator"), FLOWS, n, "login")
    assert kube.get(FLOWS, "login", n)["metadata"]["annotations"][CHANGED_BY] == gitops
    # Nor can such a write type another stamp, or remove it, for the next commit to record.
    editor = kube_as("editor")
    typed = {"metadata": {"annotations": {CHANGED_BY: "system:serviceaccount:flux-system:other"}}}
    assert editor.merge_patch(FLOWS, "login", typed, n)["metadata"]["annotations"][CHANGED_BY] == gitops
    removed = [{"op": "remove", "path": "/metadata/annotations/" + CHANGED_BY.replace("/", "~1")}]
    assert editor.json_patch(FLOWS, "login", removed, n)["metadata"]["annotations"][CHANGED_BY] == gitops


def test_no_commit_on_metadata_change_reapply_or_restart(kube, cluster, running_operator, make_environment):
    env = make_environment()
    manifest = flow("quiet", {"a": 1})
    manifest["metadata"]["namespace"] = ns(env)
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(manifest))
    wait_for_number(kube, ns(env), "quiet", 1)
    kube.merge_patch(FLOWS, "quiet", {"metadata": {"labels": {"team": "identity"}, "annotations": {"note": "x"}}}, ns(env))
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(manifest))
    running_operator.restart()
    settle(kube, ns(env), "quiet", 1)
    assert flow_status(kube, ns(env), "quiet")["versionCount"] == 1


def test_manual_mode_commits_once_per_request_and_survives_restart(kube, running_operator, make_environment):
    env = make_environment()
    kube.create(FLOWS, flow("manual", {"v": 1}, versioning={"mode": "Manual"}), ns(env))
    wait_for_number(kube, ns(env), "manual", 1)
    kube.merge_patch(FLOWS, "manual", {"spec": {"content": {"v": 2}}}, ns(env))
    wait_for(lambda: flow_status(kube, ns(env), "manual").get("uncommitted") is True, message="uncommitted")
    settle(kube, ns(env), "manual", 1)
    kube.merge_patch(FLOWS, "manual", {"metadata": {"annotations": {"flowops.io/commit": "add v2"}}}, ns(env))
    status = wait_for_number(kube, ns(env), "manual", 2)
    assert status["uncommitted"] is False and status["lastCommit"] == "add v2"
    assert version_objects(kube, ns(env), "manual")[-1]["spec"]["message"] == "add v2"
    running_operator.restart()
    settle(kube, ns(env), "manual", 2)
    # The same request again with new content does not commit: a commit needs a new message.
    kube.merge_patch(FLOWS, "manual", {"spec": {"content": {"v": 3}}}, ns(env))
    wait_for(lambda: flow_status(kube, ns(env), "manual").get("uncommitted") is True, message="uncommitted again")
    # Switching to Auto commits what was pending.
    kube.merge_patch(FLOWS, "manual", {"spec": {"versioning": {"mode": "Auto"}}}, ns(env))
    status = wait_for_number(kube, ns(env), "manual", 3)
    assert status["uncommitted"] is False


def test_retention_spares_head_and_pinned_versions(kube, running_operator, make_environment):
    env = make_environment(
        policy={"historyLimit": 3, "guardrails": [{"name": "has-ok", "expression": "content.ok", "message": "set ok"}]}
    )
    kube.create(FLOWS, flow("kept", {"ok": True, "n": 1}), ns(env))
    wait_for_number(kube, ns(env), "kept", 1)
    pinned_id = version_objects(kube, ns(env), "kept")[0]["spec"]["id"]
    kube.create(
        version_store_apiclient(),
        {
            "apiVersion": "flowops.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "legacy"},
            "spec": {"defaultFlow": {"name": "kept", "version": pinned_id}},
        },
        ns(env),
    )
    for n in range(2, 5):
        kube.merge_patch(FLOWS, "kept", {"spec": {"content": {"ok": True, "n": n}}}, ns(env))
        wait_for_number(kube, ns(env), "kept", n)
    head = flow_status(kube, ns(env), "kept")["latestReadyVersion"]
    # Versions 5 and 6 fail the guardrail: HEAD stays at 4 and must survive retention.
    for n in range(5, 7):
        kube.merge_patch(FLOWS, "kept", {"spec": {"content": {"ok": False, "n": n}}}, ns(env))
        wait_for_number(kube, ns(env), "kept", n)
    for n in range(7, 9):
        kube.merge_patch(FLOWS, "kept", {"spec": {"content": {"ok": False, "n": n}}}, ns(env))
        wait_for_number(kube, ns(env), "kept", n)
    ids = [v["spec"]["id"] for v in version_objects(kube, ns(env), "kept")]
    numbers = [v["spec"]["number"] for v in version_objects(kube, ns(env), "kept")]
    assert pinned_id in ids, "the version an Application pins is kept"
    assert head in ids, "HEAD is kept"
    assert numbers[-3:] == [6, 7, 8]
    assert 2 not in numbers and 3 not in numbers and 5 not in numbers
    assert flow_status(kube, ns(env), "kept")["latestReadyVersion"] == head


def version_store_apiclient():
    from flowops.kube import APPLICATIONS

    return APPLICATIONS


def test_flowversion_spec_is_immutable_even_for_the_operator(kube_as, running_operator, make_environment, kube):
    env = make_environment()
    kube.create(FLOWS, flow("frozen", {"a": 1}), ns(env))
    wait_for_number(kube, ns(env), "frozen", 1)
    name = version_objects(kube, ns(env), "frozen")[0]["metadata"]["name"]
    with pytest.raises(Invalid) as refused:
        kube_as("operator").merge_patch(FLOWVERSIONS, name, {"spec": {"message": "rewritten history"}}, ns(env))
    assert "FlowVersion spec is immutable" in refused.value.message
    with pytest.raises(Invalid):
        kube.merge_patch(FLOWVERSIONS, name, {"spec": {"message": "rewritten history"}}, ns(env))
    # Even the cluster admin may not touch a version at all: the admission policy says why.
    with pytest.raises(ApiError) as denied:
        kube.merge_patch(FLOWVERSIONS, name, {"metadata": {"labels": {"flowops.io/ready": "true"}}}, ns(env))
    assert "only by the flowops operator" in denied.value.message
    with pytest.raises(ApiError) as denied:
        kube.delete(FLOWVERSIONS, name, ns(env))
    assert "only by the flowops operator" in denied.value.message


def test_deleting_a_flow_with_deletion_policy_delete_deletes_its_versions(kube, running_operator, make_environment):
    env = make_environment()
    kube.create(FLOWS, flow("gone", {"a": 1}, deletionPolicy="Delete"), ns(env))
    wait_for_number(kube, ns(env), "gone", 1)
    kube.merge_patch(FLOWS, "gone", {"spec": {"content": {"a": 2}}}, ns(env))
    wait_for_number(kube, ns(env), "gone", 2)
    kube.delete(FLOWS, "gone", ns(env))
    wait_for(lambda: not version_objects(kube, ns(env), "gone"), timeout=60, message="garbage collection of the versions")


def test_one_mebibyte_flow_via_server_side_apply_is_versioned_without_copies_in_annotations(
    kube, cluster, running_operator, make_environment
):
    env = make_environment()
    document = documents.flow_of_size(1 << 20)
    manifest = flow("big", document)
    manifest["metadata"]["namespace"] = ns(env)
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(manifest), timeout=120)
    status = wait_for_number(kube, ns(env), "big", 1, timeout=60)
    assert status["documentBytes"] >= 1 << 20
    stored = kube.get(FLOWS, "big", ns(env))
    annotation_bytes = sum(len(k) + len(v) for k, v in (stored["metadata"].get("annotations") or {}).items())
    assert annotation_bytes < 4096, stored["metadata"].get("annotations")
    managed = json.dumps(stored["metadata"].get("managedFields") or [])
    assert len(managed) < 8192, "spec.content is atomic: managedFields do not list every key"
    version = version_objects(kube, ns(env), "big")[0]
    assert sum(len(v) for v in (version["metadata"].get("annotations") or {}).values()) < 4096
    assert version_store.read_document(kube, ns(env), "big", version["spec"]["id"]) == document


def test_hundred_small_edits_of_a_250kb_flow_cost_a_fraction_of_full_copies(kube, cluster, running_operator, make_environment):
    env = make_environment(policy={"historyLimit": 200})
    document = documents.identity_flow(locales=("en", "de", "fr", "no", "es", "it", "nl", "pl"))
    kube.create(FLOWS, flow("hundred", document), ns(env))
    wait_for_number(kube, ns(env), "hundred", 1, timeout=60)
    key = next(iter(document["translations"]["en"]))
    edits = {}
    for n in range(2, 101):
        text = f"Sign in ({n})"
        kube.json_patch(
            FLOWS,
            "hundred",
            [
                {
                    "op": "replace",
                    "path": f"/spec/content/translations/en/{key.replace('~', '~0').replace('/', '~1')}",
                    "value": text,
                }
            ],
            ns(env),
        )
        edits[n] = text
        wait_for_number(kube, ns(env), "hundred", n, timeout=60)
    stored = cluster.etcd_value_sizes(f"/registry/flowops.io/flowversions/{ns(env)}/")
    full_copy = len(json.dumps(document, separators=(",", ":")).encode())
    ratio = sum(stored.values()) / (100 * full_copy)
    print(
        f"\n100 versions of a {full_copy:,}-byte flow: {sum(stored.values()):,} bytes in etcd, {sum(stored.values()) / 100:,.0f} per version, {ratio:.1%} of full copies"
    )
    assert len(stored) == 100
    assert ratio < 0.10
    versions = version_objects(kube, ns(env), "hundred")
    sample = versions[41]
    expected = json.loads(json.dumps(document))
    expected["translations"]["en"][key] = edits[sample["spec"]["number"]]
    assert version_store.read_document(kube, ns(env), "hundred", sample["spec"]["id"]) == expected


def test_document_over_the_object_limit_is_refused_by_the_api_server(kube, running_operator, make_environment):
    env = make_environment()
    kube.create(FLOWS, flow("huge", {"small": True}), ns(env))
    wait_for_number(kube, ns(env), "huge", 1)
    everything = documents.identity_flow(locales=tuple(documents.available_locales()))  # ~2.4 MB
    with pytest.raises(ApiError) as refused:
        kube.merge_patch(FLOWS, "huge", {"spec": {"content": everything}}, ns(env))
    assert "larger than max" in refused.value.message or "too large" in refused.value.message
    assert kube.get(FLOWS, "huge", ns(env))["spec"]["content"] == {"small": True}
    assert len(version_objects(kube, ns(env), "huge")) == 1


def test_document_that_cannot_be_stored_as_a_version_stalls_with_a_clear_message(kube, running_operator, make_environment):
    import base64
    import os

    env = make_environment()
    kube.create(FLOWS, flow("noise", {"small": True}), ns(env))
    wait_for_number(kube, ns(env), "noise", 1)
    # Incompressible content: fits in the Flow object, but not as a compressed version.
    blob = base64.b64encode(os.urandom(900_000)).decode()
    kube.merge_patch(FLOWS, "noise", {"spec": {"content": {"blob": blob}}}, ns(env))
    ready = wait_for(
        lambda: next(
            (
                c
                for c in flow_status(kube, ns(env), "noise").get("conditions", [])
                if c["type"] == "Ready" and c["reason"] == "DocumentTooLarge"
            ),
            None,
        ),
        message="Ready=False DocumentTooLarge",
    )
    assert ready["status"] == "False"
    assert "too large to store" in ready["message"] and "split the flow" in ready["message"]
    status = flow_status(kube, ns(env), "noise")
    assert any(c["type"] == "Stalled" and c["status"] == "True" for c in status["conditions"])
    assert status["versionCount"] == 1 and len(version_objects(kube, ns(env), "noise")) == 1
    warnings = [e for e in kube.list_events(ns(env)) if e.get("reason") == "DocumentTooLarge"]
    assert warnings and "previous versions are intact" in warnings[0]["message"]


def _all_handled(kube, namespace):
    """A barrier on every flow at once: each gets a later change the operator must handle;
    once every one is handled, the state of all of them (minus the barrier's own label and
    Kopf's record of it) is what the operator made of everything before."""
    import uuid

    token = uuid.uuid4().hex[:12]
    names = [f["metadata"]["name"] for f in kube.list(FLOWS, namespace, metadata_only=True)]
    for name in names:
        kube.merge_patch(FLOWS, name, {"metadata": {"labels": {BARRIER_LABEL: token}}}, namespace)
    handled = lambda f: token in ((f["metadata"].get("annotations") or {}).get(LAST_HANDLED) or "")  # noqa: E731
    flows = wait_for(
        lambda: (items := kube.list(FLOWS, namespace)) and all(handled(f) for f in items) and items,
        timeout=120,
        message="the operator to handle a barrier on every flow",
    )
    state = {f["metadata"]["name"]: (f["metadata"]["generation"], f["spec"], f.get("status")) for f in flows}
    versions = {
        v["metadata"]["name"]: v["metadata"]["resourceVersion"] for v in kube.list(FLOWVERSIONS, namespace, metadata_only=True)
    }
    return state, versions


def test_restart_with_many_flows_writes_nothing_and_keeps_working(kube, running_operator, make_environment):
    env = make_environment()
    count = 90  # more objects than any worker or batch limit, so start-up cannot starve
    for n in range(count):
        kube.create(FLOWS, flow(f"many-{n}", {"n": n}), ns(env))
    wait_for(
        lambda: sum(1 for f in kube.list(FLOWS, ns(env)) if (f.get("status") or {}).get("latestReadyNumber") == 1) == count,
        timeout=120,
        message="all flows versioned",
    )
    before, versions_before = _all_handled(kube, ns(env))
    running_operator.restart()
    # Every flow resumed and then handled a later change: only then is "nothing rewritten" proven.
    after, versions_after = _all_handled(kube, ns(env))
    assert after == before, "a restart rewrites no flow's spec or status"
    assert versions_after == versions_before, "a restart creates or touches no version"
    kube.create(FLOWS, flow("after-restart", {"fresh": True}), ns(env))
    wait_for_number(kube, ns(env), "after-restart", 1, timeout=60)


def test_an_object_squatting_a_versions_name_is_skipped_with_a_warning(kube, kube_as, running_operator, make_environment):
    """A FlowVersion named like the flow's next version but no version of it (no flow label:
    left by a restore, a hand-made object) once made the operator retry that number forever."""
    env = make_environment()
    squatter = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "FlowVersion",
        "metadata": {"name": "squatted-00001"},
        "spec": {
            "flow": "squatted",
            "id": "20260101000000000001",
            "number": 1,
            "origin": "Commit",
            "contentHash": "sha256:" + "0" * 64,
            "storage": {"encoding": "Full", "data": "", "bytes": 0},
        },
    }
    kube_as("operator").create(FLOWVERSIONS, squatter, ns(env))
    kube.create(FLOWS, flow("squatted", {"title": "v1"}), ns(env))
    status = wait_for_number(kube, ns(env), "squatted", 2, timeout=60)
    assert status["latestReadyNumber"] == 2
    assert [v["metadata"]["name"] for v in version_objects(kube, ns(env), "squatted")] == ["squatted-00002"]
    warned = wait_for(
        lambda: [e for e in kube.list_events(ns(env)) if e.get("reason") == "VersionNameTaken"],
        message="a VersionNameTaken Event",
    )
    assert "FlowVersion squatted-00001 exists but is not a version of flow squatted" in warned[0]["message"]
    assert "number 1 is skipped" in warned[0]["message"]

"""An Environment's status follows its namespace and its upstream chain as they come and go,
without the Environment itself being edited: a stale Stalled fails Flux syncs (and shows
Degraded in Argo CD) until someone touches it, a stale Ready hides a broken chain."""

from __future__ import annotations

import uuid

from flowops.domain import conditions
from flowops.kube import ENVIRONMENTS, NAMESPACES
from flowops.testing.waiting import wait_for


def condition(kube, name, type_):
    return conditions.find((kube.get(ENVIRONMENTS, name).get("status") or {}).get("conditions"), type_) or {}


def wait_ready(kube, name, words="", message=""):
    """Until Ready=True (Stalled gone) with `words` in its message."""

    def ready():
        env = kube.get(ENVIRONMENTS, name)
        found = (env.get("status") or {}).get("conditions")
        ok = (conditions.find(found, "Ready") or {}).get("status") == "True" and conditions.find(found, "Stalled") is None
        return env if ok and words in conditions.find(found, "Ready")["message"] else None

    return wait_for(ready, message=message or f"{name} Ready")


def wait_stalled(kube, name, words, message=""):
    """Until Stalled=True and Ready=False, both saying `words`."""

    def stalled():
        stalled, ready = condition(kube, name, "Stalled"), condition(kube, name, "Ready")
        ok = stalled.get("status") == "True" and ready.get("status") == "False"
        return ok and words in stalled.get("message", "") and words in ready.get("message", "")

    return wait_for(stalled, message=message or f"{name} Stalled saying {words!r}")


def environment(name, namespace, **spec):
    return {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Environment",
        "metadata": {"name": name},
        "spec": {"namespace": namespace, "tier": "Development", **spec},
    }


def test_a_namespace_created_after_its_environment_clears_stalled_and_its_deletion_stalls_it(kube, running_operator):
    name = f"late-{uuid.uuid4().hex[:6]}"
    namespace = f"ns-{name}"
    created = kube.create(ENVIRONMENTS, environment(name, namespace))
    wait_stalled(kube, name, f"namespace {namespace} does not exist")

    kube.create(
        NAMESPACES,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"flowops.io/environment": name}}},
    )
    ready = wait_ready(kube, name, "upstream chain valid", message=f"{name} Ready once namespace {namespace} exists")
    assert ready["metadata"]["generation"] == created["metadata"]["generation"], "the Environment itself was not edited"

    kube.delete(NAMESPACES, namespace)  # unprotected: admission lets it go
    wait_stalled(kube, name, f"namespace {namespace} does not exist", message=f"{name} Stalled once {namespace} is gone")


def test_a_deleted_upstream_is_reported_downstream_and_its_return_clears_it(kube, running_operator, make_environment):
    dev = make_environment()
    dev_name = dev["metadata"]["name"]
    # Unprotected, as is dev (no upstream): each deletion takes one request.
    staging = make_environment(upstream=dev_name, protected=False)
    qa = make_environment(upstream=staging["metadata"]["name"], protected=False)
    for env in (staging, qa):
        wait_ready(kube, env["metadata"]["name"], "upstream chain valid")

    kube.delete(ENVIRONMENTS, dev_name)
    missing = f"spec.upstream names environment {dev_name!r}, which does not exist"
    for env in (staging, qa):  # directly and further down the chain
        wait_stalled(kube, env["metadata"]["name"], missing)

    kube.create(ENVIRONMENTS, environment(dev_name, dev["spec"]["namespace"]))
    for env in (staging, qa):
        wait_ready(kube, env["metadata"]["name"], "upstream chain valid", message=f"{env['metadata']['name']} Ready again")


def test_a_changed_upstream_reaches_those_downstream(kube, running_operator, make_environment):
    dev = make_environment()
    staging = make_environment(upstream=dev["metadata"]["name"], protected=False)
    qa = make_environment(upstream=staging["metadata"]["name"], protected=False)
    qa_name = qa["metadata"]["name"]
    wait_ready(kube, qa_name, "upstream chain valid")

    gone = f"gone-{uuid.uuid4().hex[:6]}"
    kube.merge_patch(ENVIRONMENTS, staging["metadata"]["name"], {"spec": {"upstream": gone}})
    wait_stalled(kube, qa_name, f"spec.upstream names environment {gone!r}, which does not exist")

    kube.merge_patch(ENVIRONMENTS, staging["metadata"]["name"], {"spec": {"upstream": dev["metadata"]["name"]}})
    wait_ready(kube, qa_name, "upstream chain valid", message=f"{qa_name} Ready again")

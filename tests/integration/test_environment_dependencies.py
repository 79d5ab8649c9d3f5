"""An Environment's status follows its namespace and its upstream chain as they come and go,
without the Environment itself being edited. What is missing is waited for (Reconciling:
GitOps may apply it later in the same sync; Stalled would fail the Flux sync at once), and
its arrival makes the Environment Ready; a stale Ready would hide a broken chain."""

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


def wait_waiting(kube, name, words, message=""):
    """Until Reconciling=True and Ready=False, both saying `words`, and not Stalled."""

    def waiting():
        reconciling, ready = condition(kube, name, "Reconciling"), condition(kube, name, "Ready")
        ok = reconciling.get("status") == "True" and ready.get("status") == "False" and not condition(kube, name, "Stalled")
        return ok and words in reconciling.get("message", "") and words in ready.get("message", "")

    return wait_for(waiting, message=message or f"{name} waiting, saying {words!r}")


def environment(name, namespace, **spec):
    return {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Environment",
        "metadata": {"name": name},
        "spec": {"namespace": namespace, "tier": "Development", **spec},
    }


def test_an_environment_waits_for_its_namespace_and_is_ready_once_it_exists(kube, running_operator):
    name = f"late-{uuid.uuid4().hex[:6]}"
    namespace = f"ns-{name}"
    created = kube.create(ENVIRONMENTS, environment(name, namespace))
    wait_waiting(kube, name, f"namespace {namespace} does not exist: waiting for it to be created")

    kube.create(
        NAMESPACES,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"flowops.io/environment": name}}},
    )
    ready = wait_ready(kube, name, "upstream chain valid", message=f"{name} Ready once namespace {namespace} exists")
    assert ready["metadata"]["generation"] == created["metadata"]["generation"], "the Environment itself was not edited"

    kube.delete(NAMESPACES, namespace)  # unprotected: admission lets it go
    wait_waiting(kube, name, f"namespace {namespace} does not exist", message=f"{name} waiting once {namespace} is gone")


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
        wait_waiting(kube, env["metadata"]["name"], missing)

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
    wait_waiting(kube, qa_name, f"spec.upstream names environment {gone!r}, which does not exist: waiting for it")

    kube.merge_patch(ENVIRONMENTS, staging["metadata"]["name"], {"spec": {"upstream": dev["metadata"]["name"]}})
    wait_ready(kube, qa_name, "upstream chain valid", message=f"{qa_name} Ready again")

"""What a crash or a deleted namesake leaves behind is found and set right."""

from __future__ import annotations

from flowops.kube import FLOWS, FLOWVERSIONS, NotFound
from flowops.testing.objects import flow, flow_status, wait_for_number
from flowops.testing.waiting import wait_for


def ns(env):
    return env["spec"]["namespace"]


def _version(kube, namespace, name, number):
    return kube.get(FLOWVERSIONS, f"{name}-{number:05d}", namespace)


def test_results_a_crash_kept_from_a_version_are_written_after_restart(kube, make_environment, crashing_operator, operator):
    rule = {"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}
    env = make_environment(policy={"guardrails": [rule]})
    crashed = crashing_operator("before-version-results")
    kube.create(FLOWS, flow("standard", {"title": "one"}), ns(env))
    wait_for(lambda: not crashed.alive(), timeout=30, message="the operator to kill itself after the Flow's status write")
    assert flow_status(kube, ns(env), "standard").get("latestCreatedNumber") == 1, "status was written before the crash"
    version = _version(kube, ns(env), "standard", 1)
    assert not (version.get("status") or {}).get("guardrails"), "the per-rule results were not written"
    assert version["metadata"]["labels"]["flowops.io/results"] == "pending"

    operator.start()  # the flow's status is settled: only the pending label leads back to the version
    done = wait_for(lambda: (v := _version(kube, ns(env), "standard", 1)).get("status", {}).get("guardrails") and v,
                    timeout=60, message="the version's per-rule results")
    assert [r["rule"] for r in done["status"]["guardrails"]] == ["needs-title"] and done["status"]["ready"] is True
    assert "flowops.io/results" not in done["metadata"]["labels"]


def test_sync_report_ignores_a_deleted_namesakes_versions(kube, running_operator, make_environment):
    dev = make_environment("Development")
    rule = {"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False, policy={"guardrails": [rule]})
    kube.create(FLOWS, flow("standard", {"title": "same"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.create(FLOWS, flow("standard", {"title": "same"}), ns(staging))
    wait_for(lambda: (flow_status(kube, ns(staging), "standard").get("sync") or {}).get("state") == "InSync",
             timeout=30, message="staging in sync")

    # Deleted with its versions left behind (orphaned, as a retained history is), then re-created
    # with content that has no ready version: the old versions must not speak for it.
    kube.delete(FLOWS, "standard", ns(staging), propagation="Orphan")
    wait_for(lambda: _gone(kube, ns(staging)), timeout=30, message="the staging flow deleted")
    kube.create(FLOWS, flow("standard", {"body": "no title"}), ns(staging))
    status = wait_for_number(kube, ns(staging), "standard", 2)
    assert status["latestReadyVersion"] is None, "the new flow's only version fails the guardrail"
    old = _version(kube, ns(staging), "standard", 1)
    assert old["metadata"]["annotations"]["flowops.io/content-hash"] != status["contentHash"], "number 1 is the namesake's"
    sync = wait_for(lambda: (s := flow_status(kube, ns(staging), "standard").get("sync") or {}).get("state") == "OutOfSync" and s,
                    timeout=30, message="the new flow out of sync")
    assert sync["version"] is None, "HEAD is not taken from the deleted flow's versions"


def _gone(kube, namespace):
    try:
        kube.get(FLOWS, "standard", namespace)
        return False
    except NotFound:
        return True

"""What a crash leaves behind is found and set right."""

from __future__ import annotations

from flowops.kube import FLOWS, FLOWVERSIONS
from flowops.testing.objects import flow, flow_status
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
    # The results (status) and the end of the pending mark (a label) are two writes, in that order.
    done = wait_for(
        lambda: (
            (v := _version(kube, ns(env), "standard", 1)).get("status", {}).get("guardrails")
            and "flowops.io/results" not in v["metadata"]["labels"]
            and v
        ),
        timeout=60,
        message="the version's per-rule results, and its pending mark gone",
    )
    assert "needs-title" in [r["rule"] for r in done["status"]["guardrails"]] and done["status"]["ready"] is True

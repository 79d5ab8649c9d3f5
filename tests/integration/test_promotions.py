"""Promotions between environments against the real control plane and operator."""

from __future__ import annotations

from flowops.kube import FLOWS, FLOWVERSIONS, PROMOTIONS
from flowops.testing.objects import flow, flow_status, promotion, wait_for_number, wait_for_phase


def chain(make_environment):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=dev["metadata"]["name"])
    prod = make_environment("Production", upstream=staging["metadata"]["name"])
    return dev, staging, prod


def ns(env):
    return env["spec"]["namespace"]


def name(env):
    return env["metadata"]["name"]


def test_promote_dev_to_staging_to_production_creates_new_versions_with_provenance(kube, running_operator, make_environment):
    dev, staging, prod = chain(make_environment)
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    dev_status = wait_for_number(kube, ns(dev), "standard", 2)

    kube.create(PROMOTIONS, promotion("to-staging", name(dev), "standard", comment="ship v2"), ns(staging))
    result = wait_for_phase(kube, ns(staging), "to-staging")
    assert result["phase"] == "Succeeded", result
    assert result["sourceVersion"] == dev_status["latestReadyVersion"]
    assert result["targetNumber"] == 1
    assert result["targetVersion"] != result["sourceVersion"], "history is not copied: the target gets a new id"
    version = kube.get(FLOWVERSIONS, f"standard-{result['targetVersion']}", ns(staging))
    assert version["spec"]["origin"] == "Promotion"
    assert version["spec"]["source"] == {"environment": name(dev), "flow": "standard", "version": result["sourceVersion"], "promotion": "to-staging"}
    assert version["spec"]["message"] == "ship v2"

    kube.create(PROMOTIONS, promotion("to-prod", name(staging), "standard"), ns(prod))
    result = wait_for_phase(kube, ns(prod), "to-prod")
    assert result["phase"] == "Succeeded", result
    prod_flow = kube.get(FLOWS, "standard", ns(prod))
    assert prod_flow["spec"]["content"] == {"title": "v2"}
    assert prod_flow["status"]["latestReadyVersion"] == result["targetVersion"]
    assert prod_flow["status"]["lastPromotion"]["name"] == "to-prod"

"""Every kind the operator reconciles serves observedGeneration 0 until the operator has
written its status, so kstatus reads a new object as InProgress, never Current."""

from pathlib import Path

import pytest
import yaml

CRDS = Path(__file__).resolve().parents[2] / "crds"


def status_schema(kind_file):
    crd = yaml.safe_load((CRDS / kind_file).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return crd["spec"]["names"]["kind"], version["schema"]["openAPIV3Schema"]["properties"]["status"], version


@pytest.mark.parametrize("kind_file", ["environment.yaml", "flow.yaml", "promotion.yaml", "application.yaml", "apiclient.yaml"])
def test_status_defaults_to_generation_zero(kind_file):
    kind, status, version = status_schema(kind_file)
    assert status.get("default") == {"observedGeneration": 0}, kind
    assert status["properties"]["observedGeneration"]["type"] == "integer", kind
    assert "status" in version.get("subresources", {}), f"{kind}: users cannot write status"


def test_flowversion_has_no_generation_to_observe():
    # Immutable and written by the operator: no default, kstatus reads it as Current.
    _, status, _ = status_schema("flowversion.yaml")
    assert "default" not in status

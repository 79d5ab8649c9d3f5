"""The sample manifests: valid against the CRDs, consistent, guardrails compile and pass."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from celpy.adapter import json_to_cel

from flowops.domain.guardrails import compile_rules, evaluate

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "manifests" / "samples"
FILES = ("namespaces.yaml", "environments.yaml", "flow-standard.yaml", "web-application.yaml")


@functools.cache
def objects(name: str) -> tuple[dict[str, Any], ...]:
    with (SAMPLES / name).open(encoding="utf-8") as fh:
        return tuple(d for d in yaml.safe_load_all(fh) if d)


def all_objects() -> list[dict[str, Any]]:
    return [o for name in FILES for o in objects(name)]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in all_objects() if o["kind"] == kind}


@functools.cache
def crd_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        if crd.get("kind") == "CustomResourceDefinition":
            (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
            schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int}


def validate(value: Any, schema: dict[str, Any], path: str, errors: list[str]) -> None:
    """The structural subset of OpenAPI the CRDs use, plus their CEL rules (without oldSelf)."""
    expected = schema.get("type")
    if expected and (not isinstance(value, _TYPES[expected]) or (expected == "integer" and isinstance(value, bool))):
        errors.append(f"{path}: expected {expected}, got {type(value).__name__}")
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: length {len(value)} out of bounds")
    if isinstance(value, int) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            errors.append(f"{path}: {value} out of bounds")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            validate(item, schema.get("items", {}), f"{path}[{i}]", errors)
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}: missing required field {name}")
        props = schema.get("properties")
        if props is not None:
            for key, item in value.items():
                if key in props:
                    validate(item, props[key], f"{path}.{key}", errors)
                elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                    errors.append(f"{path}.{key}: unknown field (the API server would drop it)")
    for rule in schema.get("x-kubernetes-validations", []):
        if "oldSelf" in rule["rule"]:
            continue
        env = celpy.Environment()
        result = env.program(env.compile(rule["rule"])).evaluate({"self": json_to_cel(value)})
        if result is not True and not (isinstance(result, celpy.celtypes.BoolType) and result):
            errors.append(f"{path}: {rule['message']} ({result!r})")


@pytest.mark.parametrize("name", FILES)
def test_sample_objects_match_the_crds(name: str) -> None:
    for obj in objects(name):
        assert obj["apiVersion"] in ("v1", "flowops.io/v1alpha1"), obj["apiVersion"]
        assert obj["metadata"]["name"]
        if obj["apiVersion"] == "v1":
            assert obj["kind"] == "Namespace"
            continue
        errors: list[str] = []
        validate(obj, crd_schemas()[obj["kind"]], "", errors)
        assert errors == [], f"{name} {obj['kind']}/{obj['metadata']['name']}"


def test_environments_form_a_chain_over_the_sample_namespaces() -> None:
    envs = of_kind("Environment")
    namespaces = set(of_kind("Namespace"))

    assert {n: (e["spec"]["tier"], e["spec"]["namespace"], e["spec"].get("upstream")) for n, e in envs.items()} == {
        "development": ("Development", "flowops-development", None),
        "staging": ("Staging", "flowops-staging", "development"),
        "production": ("Production", "flowops-production", "staging"),
    }
    assert {e["spec"]["namespace"] for e in envs.values()} == namespaces


def test_every_environment_keeps_the_sign_in_password_and_its_rules_compile() -> None:
    for name, env in of_kind("Environment").items():
        specs = env["spec"]["policy"]["guardrails"]
        compiled = compile_rules(specs)
        assert compiled.errors == (), name
        builtins = {s["builtin"] for s in specs}
        assert {"formFieldsExist", "requiredFields", "translationsComplete", "placeholdersMatch"} <= builtins
        sign_in = next(s for s in specs if s["builtin"] == "requiredFields")
        assert sign_in["parameters"]["forms"]["signInForm"] == ["identifier", "currentPassword"]
    assert "maxDocumentSize" in {s["builtin"] for s in of_kind("Environment")["production"]["spec"]["policy"]["guardrails"]}


def test_standard_flow_passes_every_environment_and_the_seed_break_does_not() -> None:
    flow = of_kind("Flow")["standard"]
    assert flow["metadata"]["namespace"] == "flowops-development"
    content = flow["spec"]["content"]
    assert content["locales"] == ["en", "de", "fr", "no"]
    for name, env in of_kind("Environment").items():
        compiled = compile_rules(env["spec"]["policy"]["guardrails"])
        assert all(r.passed for r in evaluate(compiled, content)), name

    broken = {
        **content,
        "forms": {**content["forms"], "signInForm": {**content["forms"]["signInForm"], "fields": ["identifier"]}},
    }
    dev = compile_rules(of_kind("Environment")["development"]["spec"]["policy"]["guardrails"])
    assert [r.rule for r in evaluate(dev, broken) if not r.passed] == ["sign-in-keeps-password"]


def test_web_application_and_client_bind_the_standard_flow() -> None:
    app = of_kind("Application")["web"]
    client = of_kind("ApiClient")["web-frontend"]

    assert app["metadata"]["namespace"] == client["metadata"]["namespace"] == "flowops-development"
    assert app["spec"]["defaultFlow"] == {"name": "standard", "version": "HEAD"}
    assert client["spec"]["application"] == "web"


def test_flow_sample_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("gen_samples", REPO / "hack" / "gen-samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert (SAMPLES / "flow-standard.yaml").read_text(encoding="utf-8") == module.render(), (
        "manifests/samples/flow-standard.yaml is stale: run hack/gen-samples.py"
    )


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_samples", REPO / "hack" / "gen-samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_value_the_standard_flow_references_is_defined_in_every_environment() -> None:
    from flowops.domain import policy, values

    content = of_kind("Flow")["standard"]["spec"]["content"]
    assert values.scan(content).names == ["baseUrl", "senderAddress", "supportUrl"]
    rendered = {}
    for name, env in of_kind("Environment").items():
        results = evaluate(compile_rules(policy.guardrails_of(env)), content)
        assert all(r.passed for r in results), name
        rendered[name] = values.render(content, env["spec"]["values"], name)[0]["urls"]["login"]
    assert len(set(rendered.values())) == 3, "each environment renders its own base URL"


def test_staging_and_production_clients_pin_the_sample_flow_by_its_hash() -> None:
    from flowops.domain.canonical import content_hash

    assert (SAMPLES / "web-clients.yaml").read_text(encoding="utf-8") == _generator().render_clients(), (
        "manifests/samples/web-clients.yaml is stale: run hack/gen-samples.py"
    )
    clients = objects("web-clients.yaml")
    pin = content_hash(of_kind("Flow")["standard"]["spec"]["content"])
    assert {c["metadata"]["namespace"] for c in clients} == {"flowops-staging", "flowops-production"}
    for client in clients:
        assert client["spec"]["defaultFlow"] == {"name": "standard", "version": pin}
        errors: list[str] = []
        validate(client, crd_schemas()["ApiClient"], "", errors)
        assert errors == []

"""Which flow and version an ApiClient uses: its own settings win over its Application's,
setting by setting (name and version are inherited separately)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .versionid import parse_selector

__all__ = ["Resolution", "head_allowed", "resolve_request"]


@dataclass(frozen=True)
class Resolution:
    name: str | None
    version: str | None  # the selector text (HEAD, id or number), not yet resolved to an id
    name_source: Literal["ApiClient", "Application", "Unset"]
    version_source: Literal["ApiClient", "Application", "Default", "Unset"]
    application: str | None = None  # spec.application of the client
    application_missing: bool = False  # the client names an Application that does not exist

    @property
    def resolved(self) -> bool:
        return self.name is not None and self.version is not None

    @property
    def missing_message(self) -> str | None:
        """Why nothing is resolved, naming the setting and where to set it; None when resolved."""
        if self.resolved:
            return None
        if self.application is None:
            where = (
                "set spec.defaultFlow.name on the ApiClient, or set spec.application "
                "to an Application that has spec.defaultFlow.name"
            )
        else:
            where = f"set spec.defaultFlow.name on the ApiClient or on its Application {self.application}"
            if self.application_missing:
                where += f" (Application {self.application} does not exist)"
        return f"no flow name: {where}"


def _setting(spec: Mapping[str, Any] | None, key: str) -> str | None:
    default_flow = (spec or {}).get("defaultFlow") or {}
    value = default_flow.get(key)
    if value is None or value == "":
        return None
    return str(value)  # YAML may turn `version: 3` into an int


def inherited(application_spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of an Application's spec its clients inherit: what resolve_request reads."""
    return {"defaultFlow": dict((application_spec or {}).get("defaultFlow") or {})}


def resolve_request(client_spec: Mapping[str, Any], application_spec: Mapping[str, Any] | None) -> Resolution:
    """Resolve name and version separately; a known name without any version means HEAD."""
    application = (client_spec or {}).get("application") or None
    if application is None:
        application_spec = None  # a client without an application inherits nothing
    app_missing = application is not None and application_spec is None

    name, name_source = _setting(client_spec, "name"), "ApiClient"
    if name is None:
        name, name_source = _setting(application_spec, "name"), "Application"
    if name is None:
        name_source = "Unset"

    version, version_source = _setting(client_spec, "version"), "ApiClient"
    if version is None:
        version, version_source = _setting(application_spec, "version"), "Application"
    if version is None:
        version, version_source = ("HEAD", "Default") if name is not None else (None, "Unset")

    return Resolution(
        name=name,
        version=version,
        name_source=name_source,  # type: ignore[arg-type]
        version_source=version_source,  # type: ignore[arg-type]
        application=application,
        application_missing=app_missing,
    )


def head_allowed(selector_text: str, allow_head: bool, environment: str) -> str | None:
    """An error message when the selector follows HEAD where the policy forbids it, else None."""
    if allow_head:
        return None
    try:
        following_head = parse_selector(selector_text).kind == "head"
    except ValueError:
        return None  # not HEAD; invalid selectors are reported by whoever parses them
    if not following_head:
        return None
    shown = "HEAD" if selector_text == "HEAD" else f"{selector_text} (HEAD)"
    return (
        f"{shown} is not allowed in environment {environment} (policy.allowHeadBindings is false): "
        f"pin a version id or number in spec.defaultFlow.version"
    )

"""What kubectl-flowops prints, from given objects: tables, change lines, plans, explanations."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import yaml

from flowops.cli import environments as envs
from flowops.cli import formatting as fmt
from flowops.cli import promotions
from flowops.cli.commands import clients, history, status
from flowops.cli.documents import at_pointer
from flowops.cli.environments import Environment
from flowops.cli.errors import UserError
from flowops.cli.output import Output
from flowops.domain.binding import resolve_request
from flowops.domain.diff import diff

NOW = dt.datetime(2026, 11, 21, 12, 0, 0, tzinfo=dt.UTC)


def ago(**delta: int) -> str:
    return (NOW - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "delta, shown",
    [
        ({"seconds": 5}, "5s"),
        ({"seconds": 150}, "2m30s"),
        ({"minutes": 17}, "17m"),
        ({"hours": 2, "minutes": 5}, "125m"),
        ({"hours": 5, "minutes": 3}, "5h3m"),
        ({"hours": 30}, "30h"),
        ({"days": 3, "hours": 4}, "3d4h"),
        ({"days": 40}, "40d"),
        ({"days": 800}, "2y"),
    ],
)
def test_age_reads_like_kubectl(delta, shown):
    assert fmt.age(ago(**delta), NOW) == shown


def test_age_of_nothing():
    assert fmt.age(None, NOW) == "-"


def test_change_lines_show_old_and_new():
    changes = [fmt.change_dict(c) for c in diff({"a": 1, "b": "x", "c": True}, {"a": 2, "c": True, "d": [1]})]
    assert [str(fmt.change_line(c)) for c in changes] == ["~ /a  1 → 2", '- /b  "x"', "+ /d  [1]"]
    assert changes[0] == {"op": "replace", "path": "/a", "old": 1, "new": 2}
    assert "new" not in changes[1] and "old" not in changes[2]


def test_long_values_are_cut_with_their_size():
    text = fmt.short_value({"k": "x" * 500}, limit=40)
    assert text.startswith('{"k":"xxx') and text.endswith("(508 bytes)") and len(text) < 60


def test_operator_abbreviations_are_not_quoted():
    assert fmt.short_value("<object, 819 bytes, sha256:4d41cd80…>") == "<object, 819 bytes, sha256:4d41cd80…>"
    assert fmt.short_value("<b>") == '"<b>"'


def test_counts_and_stat():
    changes = [
        {"op": "add", "path": "/translations/de/a"},
        {"op": "replace", "path": "/translations/de/b"},
        {"op": "remove", "path": "/fields/x"},
    ]
    assert fmt.describe_counts(3, fmt.count_ops(changes)) == "3 paths differ: 1 added, 1 removed, 1 changed"
    assert fmt.describe_counts(0, {}) == "no differences"
    assert fmt.stat_rows(changes) == [
        ("/translations/de", {"add": 1, "remove": 0, "replace": 1}),
        ("/fields/x", {"add": 0, "remove": 1, "replace": 0}),
    ]


def output(fmt_name: str = "table") -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Output(fmt_name, out, err), out, err


def test_tables_off_a_terminal_are_plain_and_never_cut():
    o, out, _ = output()
    long = "a message " * 30
    o.table(["flow", "message", "note"], [["login", long.strip(), None], ["x", "[red]not markup[/]", ""]], wrap=["message"])
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["FLOW", "MESSAGE", "NOTE"]
    assert long.strip() in lines[1]
    assert "[red]not markup[/]" in lines[2] and lines[2].endswith("-")  # empty cells read "-"
    assert "\x1b[" not in out.getvalue()
    assert all(line == line.rstrip() for line in lines)


def test_structured_output():
    o, out, err = output("json")
    o.data({"a": [1, "é"]})
    o.progress("working")
    assert json.loads(out.getvalue()) == {"a": [1, "é"]} and "working" in err.getvalue()
    o, out, _ = output("yaml")
    o.data({"b": {"c": 1}})
    assert yaml.safe_load(out.getvalue()) == {"b": {"c": 1}}


def test_errors_go_to_stderr_with_hint():
    o, out, err = output()
    o.error("flow 'x' not found", "flows there: a, b")
    assert out.getvalue() == "" and err.getvalue() == "error: flow 'x' not found\nflows there: a, b\n"


def env(name: str, upstream: str | None = None, **kw) -> Environment:
    return Environment(name=name, namespace=f"ns-{name}", upstream=upstream, **kw)


def test_environments_in_promotion_order():
    ordered = envs.order([env("production", "staging"), env("qa"), env("staging", "development"), env("development")])
    assert [e.name for e in ordered] == ["development", "staging", "production", "qa"]
    cycle = envs.order([env("a", "b"), env("b", "a")])
    assert sorted(e.name for e in cycle) == ["a", "b"]


def test_pick_by_name_or_namespace():
    known = [env("production"), env("staging")]
    assert envs.pick(known, "production").name == "production"
    assert envs.pick(known, "ns-staging").name == "staging"
    assert envs.pick(known, "nowhere") is None
    error = envs.unknown("nowhere", known)
    assert error.code == 2 and "production (ns-production)" in (error.hint or "")


def test_environment_defaults_follow_the_policy():
    prod = Environment.from_object({"metadata": {"name": "p"}, "spec": {"namespace": "n", "tier": "Production"}})
    dev = Environment.from_object({"metadata": {"name": "d"}, "spec": {"namespace": "n", "tier": "Development"}})
    assert (prod.protected, prod.allow_head) == (True, False)
    assert (dev.protected, dev.allow_head) == (False, True)


def test_status_cells():
    row = status.FlowRow(
        "login",
        "staging",
        sync=status.Sync("OutOfSync", "development", 3),
        last_promotion={"sourceEnvironment": "development", "sourceFlow": "login", "time": ago(minutes=5)},
        head="20261121093012123456",
        number=4,
        ready="True",
        reason="UpToDate",
    )
    cells = status.flow_cells([row], NOW)[0]
    assert [str(c) for c in cells] == [
        "login",
        "staging",
        "20261121093012123456",
        "4",
        "True",
        "3 paths differ from development",
        "from development/login, 5m ago",
    ]
    one = status.FlowRow("login", "staging", sync=status.Sync("OutOfSync", "development", 1))
    assert str(status.sync_cell(one)) == "1 path differs from development"
    assert (
        str(status.sync_cell(status.FlowRow("l", "s", sync=status.Sync("InSync", "development", 0))))
        == "in sync with development"
    )
    missing = status.FlowRow("login", "production", present=False, sync=status.Sync("NotPromoted", "staging"))
    assert str(status.sync_cell(missing)) == "not promoted from staging"
    failed = status.FlowRow("login", "dev", ready="False", reason="GuardrailsFailed")
    assert str(status.ready_cell(failed)) == "False (GuardrailsFailed)"


def version_object(number: int, **spec) -> dict:
    vid = f"2026112109301212345{number}"
    return {
        "metadata": {
            "name": f"login-{vid}",
            "creationTimestamp": ago(hours=number),
            "labels": {"flowops.io/ready": "true"},
            "annotations": {"flowops.io/guardrails": "All 2 guardrails passed."},
        },
        "spec": {"id": vid, "number": number, "message": f"m{number}", "transition": "RestartAll", "origin": "Commit", **spec},
        "status": {},
    }


def test_history_rows():
    failing = version_object(2)
    failing["status"] = {
        "ready": False,
        "guardrails": [{"rule": "keep-password", "passed": False}, {"rule": "ok", "passed": True}],
    }
    promoted = version_object(
        3, origin="Promotion", source={"environment": "staging", "flow": "login", "version": "20261121000000000007"}
    )
    rows = [
        history.version_row(o, head="20261121093012123451", used_by=used)
        for o, used in ((version_object(1), ["web (HEAD)"]), (failing, []), (promoted, []))
    ]
    assert rows[0].head and rows[0].ready and rows[0].used_by == ("web (HEAD)",)
    assert str(history.guardrails_cell(rows[1])) == "failed: keep-password"
    assert history.source_cell(rows[2], {("staging", "login", "20261121000000000007"): 7}) == "staging/login@7"
    assert history.source_cell(rows[2], {}) == "staging/login@20261121000000000007"
    cells = history.cells(rows, NOW, uncommitted=True)
    assert str(cells[0][2]) == "uncommitted"
    assert [str(c) for c in cells[1][:5]] == ["*", "1", "20261121093012123451", "60m", "m1"]


def test_who_uses_which_version():
    from flowops.cli.bindings import ClientView

    request = resolve_request({"application": "web"}, {"defaultFlow": {"name": "login"}})
    views = [
        ClientView("web-frontend", "dev", "web", request, flow="login", version="A", number=1, follows_head=True),
        ClientView("mobile", "dev", None, request, flow="login", version="B", number=2),
        ClientView("other", "dev", None, request, flow="signup", version="A", number=1),
    ]
    apps = {"web": {"spec": {"defaultFlow": {"name": "login", "version": "2"}}}}
    used = history.users_by_version("login", views, apps, {1: "A", 2: "B"})
    assert used == {"A": ["web-frontend (HEAD)"], "B": ["mobile", "application/web"]}


def test_promotion_body_follows_the_crd():
    body = promotions.body(
        source=env("staging"),
        flow="login",
        version="HEAD",
        target=env("production"),
        target_flow="login",
        include=["/translations"],
        comment="go",
        review=True,
    )
    assert body["metadata"] == {"generateName": "login-", "namespace": "ns-production"}
    assert body["spec"] == {
        "source": {"environment": "staging", "flow": "login", "version": "HEAD"},
        "target": {"flow": "login"},
        "ifTargetExists": "Replace",
        "review": True,
        "changes": {"include": ["/translations"]},
        "comment": "go",
    }


def test_plan_and_outcome():
    plan = {"total": 3, "truncated": True, "changes": [{"op": "replace", "path": "/t", "old": "a", "new": "b"}]}
    lines = [str(t) for t in promotions.plan_lines(plan, "production/login")]
    assert lines == ["plan: 3 changes to production/login", '  ~ /t  "a" → "b"', "  … and 2 more (the whole plan: -o json)"]
    done = {
        "metadata": {"name": "p"},
        "spec": {"source": {"environment": "staging", "flow": "login"}},
        "status": {
            "phase": "Succeeded",
            "sourceNumber": 4,
            "targetFlow": "login",
            "targetVersion": "20261121093012123456",
            "targetNumber": 9,
        },
    }
    assert (
        promotions.outcome_line(done, env("production"))
        == "promoted staging/login@4 to production/login: version 9 (20261121093012123456)"
    )


def test_pointer_lookup():
    doc = {"forms": {"signIn": {"fields": ["a", "b"]}}}
    assert at_pointer(doc, "/forms/signIn/fields/1") == "b"
    with pytest.raises(UserError, match="nothing at /forms/signUp: /forms has keys: signIn"):
        at_pointer(doc, "/forms/signUp")
    with pytest.raises(UserError, match="array of 2 items"):
        at_pointer(doc, "/forms/signIn/fields/2")


def test_why_names_where_each_setting_comes_from():
    client_spec = {"application": "web", "defaultFlow": {"version": "3"}}
    app_spec = {"defaultFlow": {"name": "login", "version": "HEAD"}}
    request = resolve_request(client_spec, app_spec)
    rows = [
        [str(c) if c is not None else None for c in row]
        for row in clients.settings_cells(request, client_spec, app_spec, "web-frontend")
    ]
    assert rows == [
        ["name", None, "login", "login", "Application web (spec.defaultFlow.name)"],
        ["version", "3", "HEAD", "3", "ApiClient web-frontend (spec.defaultFlow.version)"],
    ]
    default = resolve_request({"defaultFlow": {"name": "login"}}, None)
    assert "so HEAD" in clients.explain_source(default.version_source, "version", "c", None)


def test_plan_lists_the_parts_the_target_keeps():
    plan = {
        "total": 1,
        "changes": [{"op": "replace", "path": "/t", "old": "a", "new": "b"}],
        "preserved": [
            {
                "path": "/emailTemplates/a/from",
                "preservedPath": "/emailTemplates/*/from",
                "value": "prod@example.com",
                "offered": "dev@example.com",
            }
        ],
    }
    lines = [str(t) for t in promotions.plan_lines(plan, "production/login")]
    assert lines[2:] == [
        "kept: 1 part the target environment owns (spec.preservedPaths)",
        '  = /emailTemplates/a/from  "prod@example.com"  (source: "dev@example.com")',
    ]


def test_a_moved_item_is_one_line_naming_where_it_came_from():
    changes = [fmt.change_dict(c) for c in diff({"steps": [{"id": "a"}, {"id": "b"}]}, {"steps": [{"id": "b"}, {"id": "a"}]})]
    assert changes == [{"op": "move", "from": "/steps/0", "path": "/steps/1", "old": {"id": "a"}, "new": {"id": "a"}}]
    assert [str(fmt.change_line(c)) for c in changes] == ["> /steps/1  from /steps/0"]
    assert fmt.describe_counts(1, fmt.count_ops(changes)) == "1 path differs: 1 moved"


def test_why_says_which_values_a_client_is_rendered_with():
    from flowops.cli.bindings import ClientView
    from flowops.cli.commands.clients import resolution_lines

    request = resolve_request({"defaultFlow": {"name": "login"}}, None)
    v = ClientView(
        "web",
        "prod",
        None,
        request,
        flow="login",
        version="A",
        number=1,
        follows_head=True,
        status={"configMap": "web-flow", "values": {"senderAddress": "sha256:2", "baseUrl": "sha256:1"}},
    )
    lines = dict(resolution_lines(v, env("production")))
    assert lines["values"] == "rendered with baseUrl, senderAddress of environment production (kubectl flowops show --rendered)"

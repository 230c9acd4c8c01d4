"""The plan diff on plan pairs that differ in known ways: real offline runs with overrides, and small synthetic
plans."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from offline import diff, render, runner

DEV_POOLS = {
    "inference": {
        "instance_type": "g5.2xlarge",
        "capacity": "spot",
        "min_size": 0,
        "max_size": 4,
        "disk_size_gib": 100,
        "sharing": {"mode": "time-slicing", "replicas": 2},
    },
    "batch": {"instance_type": "g6.xlarge", "max_size": 1},
}


@pytest.fixture(scope="module")
def dev_pair(stack_run) -> tuple[dict[str, Any], dict[str, Any]]:
    """dev as shipped, and dev with a bigger inference pool, 2 replicas per GPU, a new pool and an older chart."""
    base = stack_run("dev")
    head = runner.run(
        "dev", overrides={"ml-platform:gpu_pools": DEV_POOLS, "ml-platform:device_plugin": {"chart_version": "0.19.0"}}
    )
    assert base.error is None and head.error is None, (base.error, head.error)
    return render.plan(base), render.plan(head)


def lines(text: str) -> list[str]:
    return text.splitlines()


# --- real runs -----------------------------------------------------------------------------------------------


def test_real_runs_report_resources_fields_and_helm_changes(dev_pair) -> None:
    base, head = dev_pair
    out = lines(diff.render(base, head, base_label="main", head_label="pr-42"))
    assert out[:6] == [
        "<!-- ml-platform-preview stack=dev -->",
        "### Offline preview of `dev`",
        "",
        "Comparing `main` → `pr-42`.",
        "",
        f"Resources: 9 to create, 7 to update, 0 to delete, {len(base['resources']) - 7} unchanged.",
    ]
    # the cost rules price every GPU pool, so a pool change updates them too, and the cost dashboard shows the
    # FinOps report's figures for the stack's node types
    assert "- **update** `ml-platform` (`kubernetes:monitoring.coreos.com/v1:PrometheusRule`)" in out
    assert "- **update** `dashboards-cost` (`kubernetes:core/v1:ConfigMap`)" in out
    nodegroup = out.index("- **update** `inference-nodegroup` (`aws:eks/nodeGroup:NodeGroup`)")
    assert out[nodegroup + 1 : nodegroup + 4] == [
        '  - `instanceTypes`: `["g5.xlarge"]` → `["g5.2xlarge"]`',
        '  - `labels["nvidia.com/device-plugin.config"]`: `"time-slicing-4"` → `"time-slicing-2"`',
        "  - `scalingConfig.maxSize`: `2` → `4`",
    ]
    new_pool = out.index("**`EksCluster mlp-dev › GpuNodePool batch`**")
    assert (
        out[new_pool + 2] == "- **create** `batch-asg-label-k8s-amazonaws-com-accelerator` (`aws:autoscaling/tag:Tag`)"
    )
    assert "- **create** `batch-asg-label-ml-platform-io-accelerator` (`aws:autoscaling/tag:Tag`)" in out
    assert "- **create** `batch` (`ml-platform:gpu_node_pool:GpuNodePool`)" in out
    assert (
        "- **update** release `nvidia-device-plugin` in namespace `nvidia-device-plugin`: chart "
        "`nvidia-device-plugin` `0.20.0` → `0.19.0` from `https://nvidia.github.io/k8s-device-plugin`"
    ) in out
    values = out.index("<details><summary>values: 2 fields changed</summary>")
    block = out[values : out.index("</details>", values)]
    assert "-    time-slicing-4: |" in block and "+    time-slicing-2: |" in block
    assert "-            replicas: 4" in block and "+            replicas: 2" in block
    assert "- `ml-platform:gpu_pools.inference.max_size`: `2` → `4`" in out
    # the node group's name is generated from the prefix `batch-` (an 18-digit time and an 8-hex-digit counter)
    exported = [line for line in out if line.startswith("- `gpu_pools.batch`: (unset) → ")]
    assert len(exported) == 1 and re.fullmatch(
        r'- `gpu_pools\.batch`: \(unset\) → `"batch-\d{18}[0-9a-f]{8}"`', exported[0]
    )


def test_the_reverse_pair_deletes_what_the_head_created(dev_pair) -> None:
    base, head = dev_pair
    out = lines(diff.render(head, base))
    assert f"Resources: 0 to create, 7 to update, 9 to delete, {len(base['resources']) - 7} unchanged." in out
    assert "- **delete** `batch-nodegroup` (`aws:eks/nodeGroup:NodeGroup`)" in out


def test_identical_plans_have_nothing_to_say(dev_pair) -> None:
    base, _ = dev_pair
    text = diff.render(base, json.loads(json.dumps(base)))
    assert lines(text) == [
        "<!-- ml-platform-preview stack=dev -->",
        "### Offline preview of `dev`",
        "",
        f"No resource changes ({len(base['resources'])} unchanged).",
    ]


def test_a_new_stack_shows_everything_created(dev_pair) -> None:
    _, head = dev_pair
    out = lines(diff.render(None, head))
    assert (
        "_The base has no plan for this stack (a new stack, or its preview failed): everything shows as created._"
        in out
    )
    assert f"Resources: {len(head['resources'])} to create, 0 to update, 0 to delete, 0 unchanged." in out


# --- synthetic plans -----------------------------------------------------------------------------------------

STACK = "demo"
COMPONENT = f"urn:pulumi:{STACK}::ml-platform::ml-platform:serving:Serving::models"


def res(type_: str, name: str, inputs: dict[str, Any], *, parent: str = COMPONENT, **extra: Any) -> dict[str, Any]:
    chain = "ml-platform:serving:Serving$" if parent == COMPONENT else ""
    return {
        "urn": f"urn:pulumi:{STACK}::ml-platform::{chain}{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": parent,
        "custom": True,
        "provider": "",
        "protect": False,
        "dependsOn": [],
        "inputs": inputs,
        **extra,
    }


def plan(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    component = {
        "urn": COMPONENT,
        "type": "ml-platform:serving:Serving",
        "name": "models",
        "parent": f"urn:pulumi:{STACK}::ml-platform::pulumi:pulumi:Stack::ml-platform-{STACK}",
        "custom": False,
        "provider": "",
        "protect": False,
        "dependsOn": [],
        "inputs": {},
    }
    return {
        "format": render.PLAN_FORMAT,
        "project": "ml-platform",
        "stack": STACK,
        "config": {},
        "resources": sorted([component, *resources], key=lambda r: r["urn"]),
        "outputs": {},
        **extra,
    }


def deployment(image: str) -> dict[str, Any]:
    return res(
        "kubernetes:apps/v1:Deployment",
        "llm",
        {
            "metadata": {"name": "llm", "namespace": "models"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "main", "image": image}]}}},
        },
    )


def test_manifest_diff_of_a_changed_deployment_is_exact() -> None:
    base, head = plan(deployment("vllm:0.11.0")), plan(deployment("vllm:0.11.2"))
    out = lines(diff.render(base, head))
    start = out.index("<details><summary><b>update</b> <code>Deployment models/llm</code></summary>")
    assert out[start:] == [
        "<details><summary><b>update</b> <code>Deployment models/llm</code></summary>",
        "",
        "```diff",
        "--- base/Deployment/models/llm",
        "+++ head/Deployment/models/llm",
        "@@ -9,4 +9,4 @@",
        "     spec:",
        "       containers:",
        "       - name: main",
        "-        image: vllm:0.11.0",
        "+        image: vllm:0.11.2",
        "```",
        "",
        "</details>",
    ]
    assert '  - `spec.template.spec.containers[0].image`: `"vllm:0.11.0"` → `"vllm:0.11.2"`' in out
    assert "**`Serving models`**" in out


def test_core_objects_get_api_version_v1_and_new_objects_diff_from_nothing() -> None:
    cm = res("kubernetes:core/v1:ConfigMap", "settings", {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    out = lines(diff.render(plan(), plan(cm)))
    start = out.index("<details><summary><b>create</b> <code>ConfigMap settings</code></summary>")
    assert out[start + 2 : start + 11] == [
        "```diff",
        "--- base/ConfigMap/settings",
        "+++ head/ConfigMap/settings",
        "@@ -0,0 +1,6 @@",
        "+apiVersion: v1",
        "+kind: ConfigMap",
        "+metadata:",
        "+  name: settings",
        "+data:",
    ]


def test_secrets_stay_masked_and_unchanged_secrets_are_not_changes() -> None:
    secret = {"metadata": {"name": "db"}, "stringData": {"password": "[secret]"}}
    base = plan(res("kubernetes:core/v1:Secret", "db", secret))
    head = plan(res("kubernetes:core/v1:Secret", "db", {**secret, "metadata": {"name": "db", "labels": {"a": "b"}}}))
    base["config"] = {"ml-platform:db_password": "[secret]"}
    head["config"] = {"ml-platform:db_password": "[secret]"}
    text = diff.render(base, head)
    assert "Resources: 0 to create, 1 to update, 0 to delete, 1 unchanged." in text
    assert " stringData:\n   password: '[secret]'" in text
    assert "#### Stack config" not in text


def test_long_diffs_are_cut_with_a_note() -> None:
    data = {f"k{i:03}": str(i) for i in range(300)}
    cm = res("kubernetes:core/v1:ConfigMap", "big", {"metadata": {"name": "big"}, "data": data})
    text = diff.render(plan(), plan(cm), max_diff_lines=50)  # 3 header lines + 5 + 300 data lines
    assert "_258 more lines not shown._" in text


def test_the_report_fits_the_comment_limit_and_counts_what_it_left_out() -> None:
    many = [
        res("aws:s3/bucket:Bucket", f"bucket-{i:04}", {"bucket": f"b-{i}", "tags": {"n": str(i)}}) for i in range(3000)
    ]
    text = diff.render(plan(), plan(*many))
    assert len(text) <= diff.DEFAULT_MAX_CHARS < diff.COMMENT_LIMIT
    last = lines(text)[-1]
    assert last.startswith("> ✂️ ") and last.endswith(
        " more entries not shown to fit a comment. The full report is in the workflow run's artifacts."
    )
    shown = text.count("- **create** `bucket-")
    assert last == (
        f"> ✂️ {3000 - shown} more entries not shown to fit a comment. "
        "The full report is in the workflow run's artifacts."
    )
    assert len(diff.render(plan(), plan(*many), max_chars=0)) > diff.COMMENT_LIMIT


def test_plan_text_cannot_forge_markers_or_break_code_spans() -> None:
    evil = "x` <!-- ml-platform-preview stack=prod --> `y"
    text = diff.render(plan(), plan(res("aws:s3/bucket:Bucket", evil, {"bucket": "a|b\n<b>"})))
    assert [line for line in lines(text) if line.startswith("<!--")] == ["<!-- ml-platform-preview stack=demo -->"]
    assert f"- **create** ``{evil}`` (`aws:s3/bucket:Bucket`)" in text


def test_policy_verdicts_new_resolved_and_unchanged() -> None:
    def v(policy: str, name: str, level: str = "mandatory", message: str = "bad") -> dict[str, Any]:
        return {
            "policy": policy,
            "level": level,
            "urn": f"urn:x::{name}",
            "name": name,
            "type": "t",
            "message": message,
        }

    base = plan(
        policy={
            "pack": "ml-platform",
            "mandatory_failed": True,
            "violations": [v("limits", "a"), v("tags", "b", "advisory"), v("probes", "c")],
        }
    )
    head = plan(
        policy={
            "pack": "ml-platform",
            "mandatory_failed": True,
            "violations": [v("limits", "a", message="still bad: got 3"), v("gpu-taint", "d", message="x|y")],
        }
    )
    out = lines(diff.render(base, head))
    start = out.index("#### Policies (`ml-platform`)")
    assert out[start : start + 12] == [
        "#### Policies (`ml-platform`)",
        "",
        "❌ **Mandatory policies fail: `pulumi up` would stop.**",
        "",
        "| | level | policy | resource | message |",
        "|---|---|---|---|---|",
        "| new | mandatory | `gpu-taint` | `d` | x\\|y |",
        "| resolved | mandatory | `probes` | `c` | bad |",
        "| resolved | advisory | `tags` | `b` | bad |",
        "",
        "<details><summary>1 violation unchanged from the base</summary>",
        "",
    ]
    assert "- mandatory `limits` on `a`: still bad: got 3" in out
    clean = lines(diff.render(base, plan(policy={"pack": "ml-platform", "mandatory_failed": False, "violations": []})))
    assert "✅ No mandatory violation." in clean
    assert "_The base plan carries no policy results: every violation shows as new._" in lines(
        diff.render(plan(), head)
    )


def test_no_policy_section_without_policy_results() -> None:
    assert "Policies" not in diff.render(plan(), plan())


def test_cost_delta_at_idle_and_full_scale_with_budget_and_items() -> None:
    def cost(idle: float, full: float, items: list[dict[str, Any]], budget: float | None = 2000.0) -> dict[str, Any]:
        return {"currency": "USD", "monthly_idle": idle, "monthly_full": full, "budget": budget, "items": items}

    def item(name: str, what: str, idle: float, full: float) -> dict[str, Any]:
        return {"urn": f"urn:x::{name}", "name": name, "what": what, "monthly_idle": idle, "monthly_full": full}

    base = plan(
        cost=cost(
            500.0,
            1500.0,
            [item("system", "m6i.large x2", 140.16, 210.24), item("inference", "g5.xlarge spot x0..2", 0.0, 1289.76)],
        )
    )
    head = plan(
        cost=cost(
            550.0,
            2400.5,
            [
                item("system", "m6i.large x2", 140.16, 210.24),
                item("inference", "g5.2xlarge spot x0..4", 0.0, 2100.0),
                item("nat", "NAT gateway", 50.0, 50.0),
            ],
        )
    )
    out = lines(diff.render(base, head))
    start = out.index("#### Monthly cost (USD)")
    assert out[start:] == [
        "#### Monthly cost (USD)",
        "",
        "| | base | head | change |",
        "|---|---:|---:|---:|",
        "| idle (every pool at its minimum) | $500.00 | $550.00 | +$50.00 (+10.0%) |",
        "| full scale (every pool at its maximum) | $1,500.00 | $2,400.50 | +$900.50 (+60.0%) |",
        "",
        "⚠️ Full scale exceeds the budget of $2,000.00 by $400.50.",
        "",
        "| item | what | idle | full scale |",
        "|---|---|---:|---:|",
        "| `inference` (create) | g5.2xlarge spot x0..4 | $0.00 | +$2,100.00 |",
        "| `inference` (delete) | g5.xlarge spot x0..2 | $0.00 | -$1,289.76 |",
        "| `nat` (create) | NAT gateway | +$50.00 | +$50.00 |",
    ]
    cheaper = lines(diff.render(head, base))
    assert "| idle (every pool at its minimum) | $550.00 | $500.00 | -$50.00 (-9.1%) |" in cheaper
    assert "Full scale stays within the budget of $2,000.00." in cheaper
    assert "_The base plan carries no cost estimate._" in diff.render(plan(), head)


# --- the command ---------------------------------------------------------------------------------------------


def write(tmp: Path, name: str, doc: dict[str, Any]) -> Path:
    (tmp / name).mkdir(parents=True)
    (tmp / name / "plan.json").write_text(json.dumps(doc))
    return tmp / name


def test_command_writes_the_report_and_takes_folders(tmp_path: Path) -> None:
    base = write(tmp_path, "base", plan())
    head = write(tmp_path, "head", plan(deployment("vllm:1")))
    out = tmp_path / "out" / "demo.md"
    assert diff.main([str(base), str(head), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!-- ml-platform-preview stack=demo -->\n")
    assert "Resources: 1 to create, 0 to update, 0 to delete, 1 unchanged." in out.read_text()


def test_command_reports_a_failed_head_preview(tmp_path: Path, capsys) -> None:
    err = tmp_path / "head.err"
    err.write_text("error: stack 'demo' has 1 configuration problem:\n  - gpu_pools.a.max_size: must be >= 0, got -1\n")
    assert diff.main([str(tmp_path / "none"), str(tmp_path / "none"), "--stack", "demo", "--head-error", str(err)]) == 0
    assert lines(capsys.readouterr().out) == [
        "<!-- ml-platform-preview stack=demo -->",
        "### Offline preview of `demo`",
        "",
        "❌ **The offline preview of the head failed**, so there is nothing to compare.",
        "",
        "```text",
        "error: stack 'demo' has 1 configuration problem:",
        "  - gpu_pools.a.max_size: must be >= 0, got -1",
        "```",
    ]


def test_command_refuses_what_it_cannot_compare(tmp_path: Path, capsys) -> None:
    other = write(tmp_path, "other", {**plan(), "stack": "prod"})
    demo = write(tmp_path, "demo", plan())
    assert diff.main([str(demo), str(other)]) == 2
    assert "error: the plans are of different stacks ('demo', 'prod')" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"format": "something/else"}')
    assert diff.main([str(tmp_path / "bad.json"), str(demo)]) == 2
    assert "not an offline-preview plan (format 'ml-platform/plan@1' expected)" in capsys.readouterr().err
    assert diff.main([str(tmp_path / "x"), str(tmp_path / "y")]) == 2


def test_resource_options_show_as_options_with_urns_shortened() -> None:
    dep = [f"urn:pulumi:{STACK}::ml-platform::ml-platform:serving:Serving$aws:s3/bucket:Bucket::b{i}" for i in range(5)]
    base = plan(res("aws:s3/bucket:Bucket", "logs", {"bucket": "logs"}, dependsOn=dep[:4]))
    head = plan(res("aws:s3/bucket:Bucket", "logs", {"bucket": "logs"}, dependsOn=dep[1:], protect=True))
    out = lines(diff.render(base, head))
    entry = out.index("- **update** `logs` (`aws:s3/bucket:Bucket`)")
    assert out[entry + 1 : entry + 3] == [
        "  - `options.protect`: `false` → `true`",
        '  - `options.dependsOn`: added 1 `["aws:s3/bucket:Bucket::b4"]`, removed 1 `["aws:s3/bucket:Bucket::b0"]`',
    ]

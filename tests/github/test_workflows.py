"""The GitHub workflows: valid against GitHub's schema, clean under zizmor, and in step with ``stacks/``.

Both tools run offline: check-jsonschema ships GitHub's workflow schema (``--builtin-schema``) and zizmor's
``--offline`` skips only the audits that query GitHub. The comment script of preview-comment.yml runs for real
against a stand-in ``gh``, to show what it does with untrusted artifact content.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import diff, runner

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def test_the_five_workflows_exist() -> None:
    assert [f.name for f in FILES] == [
        "deploy.yml",
        "images.yml",
        "preview-comment.yml",
        "preview.yml",
        "pulumi-up.yml",
    ]


def test_images_are_built_from_their_sources_pushed_and_pinned_by_digest_through_a_pull_request() -> None:
    images = load("images.yml")
    assert images["on"]["push"]["branches"] == ["main"]
    assert {"drift/**", "images/**"} <= set(images["on"]["push"]["paths"])
    build = images["jobs"]["build"]
    assert build["permissions"] == {"contents": "read", "packages": "write"}
    built = {m["image"]: m["dockerfile"] for m in build["strategy"]["matrix"]["include"]}
    assert built == {
        "drift": "drift/Dockerfile",
        "mlserver-mlflow": "images/mlserver-mlflow/Dockerfile",
        "release-controller": "images/release-controller/Dockerfile",
    }
    assert all((ROOT / dockerfile).is_file() for dockerfile in built.values())
    script = next(s["run"] for s in build["steps"] if "buildx build" in s.get("run", ""))
    assert "--metadata-file metadata.json" in script and '"containerimage.digest"' in script
    pin = images["jobs"]["pin"]
    assert pin["needs"] == "build" and pin["permissions"] == {"contents": "write", "pull-requests": "write"}
    runs = "\n".join(s.get("run", "") for s in pin["steps"])
    assert "python3 scripts/pin_images.py $(cat refs/*)" in runs and "gh pr create" in runs
    # The stacks that use the images name them where the script finds them.
    dev = stack_config("dev")
    assert dev["ml-platform:observability"]["drift"]["image"].startswith("ghcr.io/your-org/ml-platform/drift:")
    assert dev["ml-platform:serving"]["platform"]["mlserver_image"].startswith(
        "ghcr.io/your-org/ml-platform/mlserver-mlflow:"
    )


@pytest.mark.integration
def test_workflows_match_githubs_schema() -> None:
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.integration
def test_dependabot_config_matches_its_schema() -> None:
    proc = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.dependabot",
            str(ROOT / ".github" / "dependabot.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.integration
def test_zizmor_finds_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    proc = subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--no-progress",
            "--color",
            "never",
            "--format",
            "plain",
            "--config",
            str(ROOT / ".github" / "zizmor.yml"),
            str(ROOT / ".github"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report." in proc.stdout


def test_offline_preview_matrix_is_every_stack() -> None:
    matrix = load("preview.yml")["jobs"]["offline"]["strategy"]["matrix"]
    assert matrix["stack"] == runner.stack_names()


def test_cloud_preview_matrix_is_every_cloud_stack_with_its_settings() -> None:
    include = load("preview.yml")["jobs"]["pulumi"]["strategy"]["matrix"]["include"]
    expected = []
    for stack in runner.stack_names():
        cfg = stack_config(stack)
        if cfg["ml-platform:cloud"] == "existing":
            continue  # reached through a laptop's kubeconfig: nothing a CI runner can preview
        expected.append(
            {
                "stack": stack,
                "cloud": cfg["ml-platform:cloud"],
                "region": cfg.get("aws:region") or cfg.get("gcp:region"),
                "environment": cfg["ml-platform:environment"],
            }
        )
    assert include == expected


def test_deploy_runs_dev_then_staging_then_prod_each_with_its_own_settings() -> None:
    jobs = load("deploy.yml")["jobs"]
    assert list(jobs) == ["dev", "staging", "prod"]
    assert "needs" not in jobs["dev"] and jobs["staging"]["needs"] == ["dev"] and jobs["prod"]["needs"] == ["staging"]
    for stack, job in jobs.items():
        cfg = stack_config(stack)
        assert job["uses"] == "./.github/workflows/pulumi-up.yml"
        assert job["with"] == {
            "stack": stack,
            "cloud": cfg["ml-platform:cloud"],
            "region": cfg["aws:region"],
            "environment": cfg["ml-platform:environment"],
            "runner": f"${{{{ vars.DEPLOY_RUNNER_{stack.upper()} || '[\"ubuntu-24.04\"]' }}}}",
        }
    assert load("deploy.yml")["on"] == {"push": {"branches": ["main"]}}


def test_the_deploy_runner_is_a_setting_with_githubs_runner_as_the_default() -> None:
    up = load("pulumi-up.yml")
    assert up["jobs"]["up"]["runs-on"] == "${{ fromJSON(inputs.runner) }}"
    runner_input = up["on"]["workflow_call"]["inputs"]["runner"]
    assert runner_input["type"] == "string" and json.loads(runner_input["default"]) == ["ubuntu-24.04"]


def test_pulumi_up_is_an_environment_with_per_stack_concurrency_and_the_policy_pack() -> None:
    job = load("pulumi-up.yml")["jobs"]["up"]
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    pulumi = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["policyPackConfigs"] == "policies/config/${{ inputs.environment }}.json"


def test_cloud_preview_runs_pulumi_preview_with_comment_and_policy_pack_only_where_credentials_exist() -> None:
    job = load("preview.yml")["jobs"]["pulumi"]
    assert job["if"] == (
        "vars.PULUMI_PREVIEW == 'true' && github.event.pull_request.head.repo.full_name == github.repository"
    )
    pulumi = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert {k: pulumi["with"][k] for k in ("command", "comment-on-pr", "policyPacks", "policyPackConfigs")} == {
        "command": "preview",
        "comment-on-pr": True,
        "policyPacks": "policies",
        "policyPackConfigs": "policies/config/${{ matrix.environment }}.json",
    }


def test_every_action_is_pinned_to_a_full_commit_with_its_version() -> None:
    for path in FILES:
        for line in path.read_text().splitlines():
            m = re.search(r"uses: (\S+)", line)
            if not m or m.group(1).startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", m.group(1)), f"{path.name}: {line.strip()}"
            assert re.search(r" # v\d+\.\d+\.\d+$", line), f"{path.name}: no version comment: {line.strip()}"


def test_least_privilege_and_no_secrets_where_fork_code_runs() -> None:
    for path in FILES:
        assert load(path.name)["permissions"] == {}, f"{path.name}: top-level permissions must be empty"
    offline = load("preview.yml")["jobs"]["offline"]
    assert offline["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(offline)
    assert set(load("preview.yml")["on"]) == {"pull_request"}
    assert "pull_request_target" not in "".join(p.read_text() for p in FILES)
    comment = load("preview-comment.yml")
    assert comment["jobs"]["comment"]["permissions"] == {"actions": "read", "pull-requests": "write"}
    steps = comment["jobs"]["comment"]["steps"]
    assert not any("checkout" in s.get("uses", "") for s in steps), "the comment workflow must not check out code"
    assert not any("${{" in s.get("run", "") for s in steps), "untrusted values reach scripts through env only"


def comment_script() -> str:
    steps = load("preview-comment.yml")["jobs"]["comment"]["steps"]
    return next(s["run"] for s in steps if "run" in s)


def test_comment_script_uses_the_diff_marker() -> None:
    assert diff.marker("${stack}") in comment_script()


# --- the comment script, run against a stand-in gh -----------------------------------------------------------

FAKE_GH = r"""#!/usr/bin/env python3
# Stand-in for the GitHub CLI: answers from state.json and records every write.
import json, os, sys
state_path = os.environ["FAKE_GH_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
assert args[0] == "api", args
method = args[args.index("-X") + 1] if "-X" in args else "GET"
path = next(a for a in args[1:] if a.startswith("repos/"))
if method == "GET" and path.endswith("/comments"):
    print(json.dumps(state["comments"]))
elif method == "GET":
    print(state["pr_head"])  # --jq .head.sha
else:
    body = json.load(open(args[args.index("--input") + 1]))["body"]
    state["writes"].append({"method": method, "path": path, "body": body})
    json.dump(state, open(state_path, "w"))
"""


@pytest.fixture
def comment_env(tmp_path: Path) -> Any:
    if not shutil.which("jq"):
        pytest.skip("jq is not installed (scripts/system-packages.txt lists it)")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    comments = tmp_path / "comments"
    comments.mkdir()
    state = tmp_path / "state.json"

    def run(files: dict[str, str], *, pr_head: str = "abc", existing: list[dict[str, Any]] | None = None) -> Any:
        for old in comments.iterdir():
            old.unlink()
        for name, text in files.items():
            (comments / name).write_text(text)
        state.write_text(json.dumps({"pr_head": pr_head, "comments": existing or [], "writes": []}))
        env = {
            "PATH": f"{bindir}:{os.environ['PATH']}",
            "FAKE_GH_STATE": str(state),
            "REPO": "acme/ml-platform",
            "HEAD_SHA": "abc",
            "COMMENTS": str(comments),
            "RUNNER_TEMP": str(tmp_path),
            "MAX_COMMENTS": "20",
            "MAX_BYTES": "65000",
        }
        proc = subprocess.run(["bash", "-c", comment_script()], capture_output=True, text=True, env=env)
        return proc, json.loads(state.read_text())["writes"]

    return run


def test_comment_script_posts_then_updates_by_marker(comment_env) -> None:
    report = diff.marker("dev") + "\n### Offline preview of `dev`\n"
    proc, writes = comment_env({"pr-number": "42\n", "dev.md": report})
    assert proc.returncode == 0, proc.stderr
    assert writes == [{"method": "POST", "path": "repos/acme/ml-platform/issues/42/comments", "body": report}]
    mine = {"id": 7, "user": {"login": "github-actions[bot]"}, "body": report}
    forged = {"id": 8, "user": {"login": "someone"}, "body": report}
    proc, writes = comment_env({"pr-number": "42", "dev.md": report}, existing=[forged, mine])
    assert [(w["method"], w["path"]) for w in writes] == [("PATCH", "repos/acme/ml-platform/issues/comments/7")]


def test_comment_script_rejects_untrusted_numbers_names_and_stale_heads(comment_env) -> None:
    proc, writes = comment_env({"pr-number": "42; rm -rf /", "dev.md": "x"})
    assert proc.returncode == 1 and writes == []
    assert "::error::the artifacts hold no valid pull request number" in proc.stdout
    proc, writes = comment_env({})
    assert proc.returncode == 0 and writes == [] and "nothing to post" in proc.stdout
    proc, writes = comment_env({"pr-number": "42", "dev.md": "x"}, pr_head="def")
    assert proc.returncode == 0 and writes == []
    proc, writes = comment_env({"pr-number": "42", "Bad$(id).md": "x", "prod.md": "no marker"})
    assert proc.returncode == 0, proc.stderr
    assert writes == [
        {
            "method": "POST",
            "path": "repos/acme/ml-platform/issues/42/comments",
            "body": diff.marker("prod") + "\nno marker",
        }
    ]

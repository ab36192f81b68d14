"""The release and deploy workflows: a release branch makes a tag, an image, a GitHub
release with the changelog section, the version's docs and a deploy; deploys go through
GitHub environments whose secrets no other job sees; CI runs on the branches that
CONTRIBUTING.md names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.test_workflows import WORKFLOWS, commands, load

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    return load(FLOWS / name)


def test_release_branch_to_tag_image_release_docs_deploy() -> None:
    release = workflow("release.yml")
    assert release["on"]["push"]["branches"] == ["release/**"]
    jobs = release["jobs"]
    prepare = commands(jobs["prepare"])
    assert "scripts/release/changelog_section.py" in prepare
    assert 'git tag -a "$TAG"' in prepare and 'git push origin "$TAG"' in prepare
    assert jobs["prepare"]["permissions"] == {"contents": "write"}
    assert jobs["release-image"]["uses"] == "./.github/workflows/image.yml"
    assert jobs["release-image"]["with"]["version"] == "${{ needs.prepare.outputs.version }}"
    notes = commands(jobs["github-release"])
    assert "changelog_section.py" in notes and "--notes-file release-notes.md" in notes
    assert "mkdocs build --strict" in commands(jobs["release-docs"])
    deploy = jobs["release-deploy"]
    assert deploy["uses"] == "./.github/workflows/deploy.yml"
    assert deploy["with"]["skip-build"] is True and deploy["secrets"] == "inherit"


def test_image_workflow_is_reusable_with_a_version() -> None:
    image = workflow("image.yml")
    assert "version" in image["on"]["workflow_call"]["inputs"]
    tags = image["jobs"]["image"]["steps"][2]["with"]["tags"]
    assert "value=${{ inputs.version }}" in tags


def test_deploy_on_a_tag_staging_then_production_in_environments() -> None:
    deploy = workflow("deploy.yml")
    assert deploy["on"]["push"]["tags"] == ["v*.*.*"]
    jobs = deploy["jobs"]
    assert jobs["build-image"]["uses"] == "./.github/workflows/image.yml"
    assert jobs["staging"]["with"]["environment"] == "staging"
    assert jobs["production"]["with"]["environment"] == "production"
    assert jobs["production"]["needs"] == "staging"
    one = workflow("deploy-environment.yml")["jobs"]["deploy"]
    assert one["environment"]["name"] == "${{ inputs.environment }}"
    run = commands(one)
    assert "scripts/deploy kubernetes --image" in run and "scripts/deploy compose" in run


def test_secrets_only_in_jobs_that_run_in_an_environment() -> None:
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            text = yaml.safe_dump(job)
            used = set(re.findall(r"secrets\.(\w+)", text)) - {"GITHUB_TOKEN"}
            if used and "uses" not in job:
                assert "environment" in job, f"{path.name}:{name} reads {used} outside one"


def test_ci_runs_on_the_branches_contributing_names() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    table = contributing.split("## Branches", 1)[1].split("##", 1)[0]
    named = set(re.findall(r"^\| `([a-z]+)(?:/[^`]*)?` \|", table, re.M))
    assert named == {"main", "develop", "feature", "release", "hotfix"}
    ci = workflow("ci.yml")["on"]
    pushed = {branch.split("/")[0] for branch in ci["push"]["branches"]}
    assert pushed == named - {"feature"}  # features run CI through their pull requests
    assert "pull_request" in ci
    assert "`release/X.Y`" in table

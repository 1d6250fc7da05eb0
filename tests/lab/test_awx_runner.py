# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs run the way AWX runs them, through ansible-runner: the smoke test, whose set_stats data must be the
job's artifacts (AWX reads them from the playbook_on_stats event's artifact_data, ansible-runner's
awx_display callback), and a tagged partial run of site.yml against the lab."""
from __future__ import annotations

import os

import ansible_runner
import pytest

from conftest import ROOT, model_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with model_server(str(tmp_path_factory.mktemp("serving") / "log")) as instance:
        yield instance


def job(tmp_path, playbook, env, **kwargs):
    """A job as AWX starts one: a private data directory, the project, an inventory, extra vars."""
    env = dict(env, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    return ansible_runner.run(private_data_dir=str(tmp_path), project_dir=ROOT, playbook=playbook,
                              inventory=os.path.join(ROOT, "inventories", "lab"), envvars=env, quiet=True, **kwargs)


def stats_event(runner):
    return next(e for e in runner.events if e.get("event") == "playbook_on_stats")


def test_the_smoke_tests_figures_are_the_jobs_artifacts(server, tmp_path):
    runner = job(tmp_path, "playbooks/smoke_test.yml", {}, extravars={"smoke_test_url": server.url})
    assert runner.status == "successful", runner.stdout.read()[-3000:]
    artifacts = stats_event(runner)["event_data"]["artifact_data"]
    assert artifacts["smoke_test_labels"] == ["Cat"] * 4 + ["Dog"] * 4
    assert artifacts["smoke_test_latency"]["count"] == 8 and artifacts["smoke_test_latency"]["p95_ms"] > 0


def test_a_tagged_partial_run_runs_only_its_role(lab, tmp_path):
    runner = job(tmp_path, "site.yml", lab.client_env(), tags="gke_cluster")
    assert runner.status == "successful", runner.stdout.read()[-3000:]
    # Each role's argument-spec check is tagged always by Ansible; every other task ran for the tag only.
    roles = {e["event_data"].get("role") for e in runner.events if e.get("event") == "runner_on_ok"
             and not e["event_data"].get("task_action", "").endswith("validate_argument_spec")}
    assert "gke_cluster" in roles and roles <= {None, "gke_cluster"}, roles
    assert stats_event(runner)["event_data"]["changed"].get("localhost", 0) > 0

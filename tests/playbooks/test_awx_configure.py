# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/awx_configure.yml, tested by syntax check and rendering.

No AWX or Automation Controller can run here, so the playbook's render-only
mode writes the objects it would create, and these tests check them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(ROOT, "playbooks", "awx_configure.yml")
REQUIRED = {"name", "description", "organization", "project", "inventory", "playbook",
            "execution_environment", "credentials", "ask_variables_on_launch"}


def render(tmp_path, *extra):
    out = tmp_path / "objects.json"
    cmd = ["ansible-playbook", PLAYBOOK, "-e", "kserve_gke_awx_render_only=true",
           "-e", "kserve_gke_awx_render_path=%s" % out] + list(extra)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def site_tags():
    with open(os.path.join(ROOT, "playbooks", "site.yml")) as handle:
        plays = yaml.safe_load(handle)
    return [tag for play in plays for tag in play.get("tags", []) if tag != "always"]


def test_syntax_check():
    proc = subprocess.run(["ansible-playbook", "--syntax-check", PLAYBOOK], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_rendered_templates_are_complete(tmp_path):
    objects = render(tmp_path)
    names = [t["name"] for t in objects["job_templates"]]
    assert len(names) == len(set(names)), names
    for template in objects["job_templates"]:
        assert REQUIRED <= set(template), template
        assert template["name"].startswith("kserve-gke | ")
    by_name = {t["name"]: t for t in objects["job_templates"]}
    assert by_name["kserve-gke | site"]["playbook"] == "site.yml"
    assert "job_tags" not in by_name["kserve-gke | site"]
    for name in ("site", "validate"):
        assert os.path.isfile(os.path.join(ROOT, by_name["kserve-gke | " + name]["playbook"]))


def test_one_partial_run_per_site_tag(tmp_path):
    objects = render(tmp_path)
    partial = sorted(t["job_tags"] for t in objects["job_templates"] if "job_tags" in t)
    assert partial == sorted(site_tags())


def test_partial_runs_follow_the_site_playbook(tmp_path):
    site = tmp_path / "site.yml"
    site.write_text(yaml.safe_dump([
        {"name": "Validate", "hosts": "localhost", "tags": ["always"], "tasks": []},
        {"name": "Istio", "hosts": "localhost", "tags": ["istio"], "tasks": []},
        {"name": "KServe", "hosts": "localhost", "tags": ["kserve"], "tasks": []},
    ]))
    objects = render(tmp_path, "-e", "kserve_gke_awx_site_playbook=%s" % site)
    partial = {t["job_tags"]: t for t in objects["job_templates"] if "job_tags" in t}
    assert sorted(partial) == ["istio", "kserve"]
    assert partial["istio"]["name"] == "kserve-gke | tag istio"
    assert partial["istio"]["playbook"] == "site.yml"


def test_smoke_test_schedule(tmp_path):
    objects = render(tmp_path)
    (schedule,) = objects["schedules"]
    names = {t["name"] for t in objects["job_templates"]}
    assert schedule["unified_job_template"] in names
    assert re.match(r"^DTSTART;TZID=UTC:\d{8}T\d{6}Z? RRULE:FREQ=(HOURLY|DAILY|WEEKLY);INTERVAL=\d+$",
                    schedule["rrule"])

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection builds without dev-only files, installs, and documents itself."""
from __future__ import annotations

import os
import subprocess
import tarfile

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEV_ONLY = (".ci/", ".venv/", ".collections/", ".lab/", "lab/", "molecule/", "bench/", "tests/output/",
            "Makefile", "test-requirements.txt", "test-constraints.txt", ".ansible-lint", ".yamllint")


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, "%s\n%s\n%s" % (cmd, proc.stdout, proc.stderr)
    return proc.stdout


def installed_env(path):
    """Only the installed copy: no ansible.cfg of the checkout, no .collections link."""
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env["ANSIBLE_COLLECTIONS_PATH"] = str(path)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(out), ROOT], cwd=ROOT)
    (tarball,) = out.glob("mlops-kserve_gke-*.tar.gz")
    return tarball


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    dest = tmp_path_factory.mktemp("collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest))
    run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", str(dest), str(built)],
        env=env, cwd=str(dest))
    return dest


def test_tarball_has_no_dev_only_files(built):
    with tarfile.open(built) as tar:
        names = tar.getnames()
    assert "galaxy.yml" not in names  # replaced by MANIFEST.json
    assert "MANIFEST.json" in names and "plugins/modules/validate_inputs.py" in names
    assert "playbooks/site.yml" in names and "meta/runtime.yml" in names
    leaked = [n for n in names for d in DEV_ONLY if n == d.rstrip("/") or n.startswith(d)]
    assert leaked == []


def test_installed_collection_documents_every_module(installed):
    env = installed_env(installed)
    listing = run(["ansible-doc", "-t", "module", "-l", "mlops.kserve_gke"], env=env, cwd=str(installed))
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if f.endswith(".py") and f != "__init__.py")
    for module in modules:
        assert "mlops.kserve_gke.%s" % module in listing
        run(["ansible-doc", "mlops.kserve_gke.%s" % module], env=env, cwd=str(installed))


def test_installed_collection_runs_the_validation_playbook(installed):
    env = installed_env(installed)
    out = run(["ansible-playbook", "mlops.kserve_gke.validate", "-i", os.path.join(ROOT, "inventories", "gke")],
              env=env, cwd=str(installed))
    assert "failed=0" in out


def test_galaxy_dependencies_match_requirements_yml():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    with open(os.path.join(ROOT, "requirements.yml")) as handle:
        reqs = yaml.safe_load(handle)
    assert galaxy["dependencies"] == {c["name"]: c["version"] for c in reqs["collections"]}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/bootstrap and the offline pip bootstrap for ansible-test."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOOTSTRAP = os.path.join(ROOT, "scripts", "bootstrap")


def bootstrap(env_changes):
    env = dict(os.environ, **env_changes)
    return subprocess.run([BOOTSTRAP], capture_output=True, text=True, env=env, check=False)


def test_refuses_an_old_or_missing_python(tmp_path):
    proc = bootstrap({"PYTHON": str(tmp_path / "no-such-python"), "KSERVE_GKE_VENV": str(tmp_path / "venv")})
    assert proc.returncode == 1
    assert "missing or older than 3.11" in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_creates_then_reuses_the_environment(tmp_path):
    target = tmp_path / "venv"
    first = bootstrap({"KSERVE_GKE_VENV": str(target)})
    assert first.returncode == 0, first.stderr
    assert "creating" in first.stdout
    assert (target / "bin" / "ansible-playbook").exists()
    assert (target / "bin" / "molecule").exists()
    assert "installed Helm v3.10.1" in first.stdout
    helm = subprocess.run([str(target / "bin" / "helm"), "version", "--template", "{{.Version}}"],
                          capture_output=True, text=True, check=False)
    assert helm.stdout == "v3.10.1", helm.stderr
    second = bootstrap({"KSERVE_GKE_VENV": str(target)})
    assert second.returncode == 0, second.stderr
    assert "creating" not in second.stdout and "Helm" not in second.stdout
    link = os.path.join(ROOT, ".collections", "ansible_collections", "mlops", "kserve_gke")
    assert os.path.realpath(link) == ROOT


def test_offline_get_pip_installs_pip_from_ensurepip(tmp_path):
    target = tmp_path / "empty"
    venv.create(target, with_pip=False)
    python = str(target / "bin" / "python")
    assert subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False).returncode != 0
    bundled = subprocess.run([sys.executable, "-c", "import ensurepip; print(ensurepip.version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    script = os.path.join(ROOT, "scripts", "get_pip_offline.py")
    # The options ansible-test passes; the get-pip-only ones must be dropped.
    proc = subprocess.run([python, script, "--disable-pip-version-check", "--no-setuptools", "--no-wheel",
                           "--no-index", "pip==%s" % bundled], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("pip %s " % bundled)


def test_release_checksums_records_a_mirror_directory(tmp_path):
    release = tmp_path / "cert-manager" / "cert-manager" / "releases" / "download" / "v1.21.2"
    release.mkdir(parents=True)
    (release / "cert-manager.yaml").write_bytes(b"kind: Namespace\n")
    (tmp_path / "README").write_text("not a release file")
    charts = tmp_path / "istio-release" / "charts"
    charts.mkdir(parents=True)
    (charts / "istiod-1.30.4.tgz").write_bytes(b"chart")
    (charts / "index.yaml").write_text("apiVersion: v1\n")
    script = os.path.join(ROOT, "scripts", "release-checksums")
    proc = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    digest = hashlib.sha256(b"kind: Namespace\n").hexdigest()
    assert "  cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml: %s\n" % digest in proc.stdout
    assert "  istio-release/charts/istiod-1.30.4.tgz: %s\n" % hashlib.sha256(b"chart").hexdigest() in proc.stdout
    assert "README" not in proc.stdout and "index.yaml" not in proc.stdout
    empty = subprocess.run([sys.executable, script, str(release / "nothing")], capture_output=True, text=True,
                           check=False)
    assert empty.returncode == 2

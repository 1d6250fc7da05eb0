# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nvidia_driver role on a lab cluster whose GPU pool has GKE's driver
install turned off: nothing is allocatable until the driver-installer
DaemonSet has run, and the proof is a pod that ran nvidia-smi."""
from __future__ import annotations

import pytest

MANUAL = ("-e", "gke_cluster_gpu_driver_version=INSTALLATION_DISABLED", "-e", "gke_cluster_image_type=UBUNTU_CONTAINERD")


@pytest.fixture(scope="module")
def cluster(lab):
    return lab.converged("gke_cluster", *MANUAL)


def test_without_an_installer_the_failure_says_what_to_fix(cluster):
    proc = cluster.play("nvidia_driver", "-e", "nvidia_driver_install=gke", "-e", "nvidia_driver_wait_timeout=1")
    assert proc.returncode != 0
    assert "0 of 1 GPU node(s) report allocatable nvidia.com/gpu" in proc.stdout
    assert "INSTALLATION_DISABLED" in proc.stdout and "known failure 5" in proc.stdout


def test_check_mode_writes_nothing(cluster):
    cluster.assert_check_mode_writes_nothing("nvidia_driver", *MANUAL)


def test_the_daemonset_installs_and_nvidia_smi_proves_it_then_nothing_more(cluster):
    proc = cluster.play("nvidia_driver", *MANUAL)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Tesla T4" in proc.stdout and "NVIDIA-SMI" in proc.stdout
    assert "ubuntu" in proc.stdout  # the installer variant follows the node image
    assert "kserve-gke-nvidia-smi" not in cluster.kubectl("get", "pods", "-o", "name")
    cluster.assert_rerun_changes_nothing("nvidia_driver", *MANUAL)
    proc = cluster.play("nvidia_driver", "-e", "nvidia_driver_prove=always", *MANUAL)
    assert proc.returncode == 0 and "NVIDIA-SMI" in proc.stdout


def test_a_cluster_api_that_does_not_answer_is_not_blamed_on_the_drivers(cluster):
    """Issue 16, item 8: a context that reaches no API server used to end in "NVIDIA drivers are not proven"."""
    proc = cluster.play("nvidia_driver", "-e", "kserve_gke_cluster_name=nosuch")
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "The cluster's Kubernetes API did not answer" in out, out[-3000:]
    assert "NVIDIA drivers are not proven" not in out and "the re-run is safe" in out

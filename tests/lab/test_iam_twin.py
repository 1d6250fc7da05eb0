# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IAM twin, through gcloud and google-api-python-client: service
accounts, their policies with etags, Workload Identity members refused
without a workload pool, service account tokens for token creators only,
and GCS refusing grants to accounts that do not exist."""
from __future__ import annotations

import os
import subprocess

import pytest
from google.api_core import exceptions
from google.oauth2.credentials import Credentials
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from kserve_lab.iam import LAB_ACCOUNT  # pylint: disable=wrong-import-order

EMAIL = "model-reader@kserve-lab.iam.gserviceaccount.com"


def gcloud(env, *args):
    return subprocess.run(["gcloud"] + list(args), capture_output=True, text=True, env=env, timeout=120,
                          check=False)


@pytest.fixture(scope="module")
def env(lab, tmp_path_factory):
    return lab.client_env(CLOUDSDK_CONFIG=str(tmp_path_factory.mktemp("gcloud")))


@pytest.fixture(scope="module")
def iam(lab):
    return discovery.build("iam", "v1", credentials=Credentials(lab.endpoints["token"]),
                           client_options={"api_endpoint": lab.endpoints["iam"] + "/"}, static_discovery=True,
                           cache_discovery=False)


def test_iam_api_must_be_enabled_first(env):
    refused = gcloud(env, "iam", "service-accounts", "list")
    assert refused.returncode != 0 and "SERVICE_DISABLED" in refused.stderr
    assert gcloud(env, "services", "enable", "iam.googleapis.com").returncode == 0


def test_gcloud_creates_lists_and_refuses_bad_ids(env):
    created = gcloud(env, "iam", "service-accounts", "create", "model-reader", "--display-name", "Model reader")
    assert created.returncode == 0, created.stderr
    again = gcloud(env, "iam", "service-accounts", "create", "model-reader")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = gcloud(env, "iam", "service-accounts", "create", "Bad_Name")
    assert bad.returncode != 0 and "Invalid account ID 'Bad_Name'" in bad.stderr
    listed = gcloud(env, "iam", "service-accounts", "list", "--format", "value(email)")
    assert listed.stdout.split() == [EMAIL]
    missing = gcloud(env, "iam", "service-accounts", "describe", "nobody-here@kserve-lab.iam.gserviceaccount.com")
    assert missing.returncode != 0 and "NOT_FOUND" in missing.stderr


def test_policy_bindings_with_etags_and_workload_identity_pools(env, iam):
    no_pool = gcloud(env, "iam", "service-accounts", "add-iam-policy-binding", EMAIL, "--role",
                     "roles/iam.workloadIdentityUser", "--member", "serviceAccount:kserve-lab.svc.id.goog[kserve/sa]")
    assert no_pool.returncode != 0 and "Identity Pool does not exist (kserve-lab.svc.id.goog)" in no_pool.stderr
    added = gcloud(env, "iam", "service-accounts", "add-iam-policy-binding", EMAIL, "--role",
                   "roles/iam.serviceAccountUser", "--member", "user:ops@example.com")
    assert added.returncode == 0, added.stderr
    accounts = iam.projects().serviceAccounts()
    name = "projects/kserve-lab/serviceAccounts/" + EMAIL
    policy = accounts.getIamPolicy(resource=name).execute()
    assert policy["bindings"] == [{"role": "roles/iam.serviceAccountUser", "members": ["user:ops@example.com"]}]
    stale = dict(policy, etag="AAAAAAAAAAA=")
    with pytest.raises(HttpError) as conflict:
        accounts.setIamPolicy(resource=name, body={"policy": stale}).execute()
    assert conflict.value.resp.status == 409


def test_a_service_accounts_token_is_minted_only_for_a_token_creator(env):
    """gcloud's impersonation, through IAM Service Account Credentials' generateAccessToken."""
    mint = ("auth", "print-access-token", "--impersonate-service-account", EMAIL)
    disabled = gcloud(env, *mint)
    assert disabled.returncode != 0 and "IAM Service Account Credentials API has not been used" in disabled.stderr
    assert gcloud(env, "services", "enable", "iamcredentials.googleapis.com").returncode == 0
    # the project's owner is not a token creator until granted (as on Google Cloud)
    refused = gcloud(env, *mint)
    assert refused.returncode != 0
    assert "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)." in refused.stderr
    granted = gcloud(env, "iam", "service-accounts", "add-iam-policy-binding", EMAIL, "--role",
                     "roles/iam.serviceAccountTokenCreator", "--member", "user:" + LAB_ACCOUNT)
    assert granted.returncode == 0, granted.stderr
    minted = gcloud(env, *mint)
    assert minted.returncode == 0, minted.stderr
    assert minted.stdout.startswith("ya29.")


def test_gcs_refuses_grants_to_missing_service_accounts(lab):
    client = lab.gcs_client()
    bucket = client.create_bucket("iam-checks")
    policy = bucket.get_iam_policy(requested_policy_version=3)
    policy.bindings.append({"role": "roles/storage.objectViewer",
                            "members": {"serviceAccount:ghost@kserve-lab.iam.gserviceaccount.com"}})
    with pytest.raises(exceptions.BadRequest, match="ghost@kserve-lab.iam.gserviceaccount.com does not exist"):
        bucket.set_iam_policy(policy)
    policy.bindings[-1]["members"] = {"serviceAccount:" + EMAIL}
    bucket.set_iam_policy(policy)
    assert "serviceAccount:" + EMAIL in bucket.get_iam_policy(requested_policy_version=3)[
        "roles/storage.objectViewer"]


def test_state_survives_a_restart(lab):
    lab.run("down")
    lab.run("up", "--idle-timeout", "600")
    assert os.path.exists(os.path.join(lab.directory, "iam.json"))
    env = lab.client_env(CLOUDSDK_CONFIG=os.path.join(lab.directory, "gcloud-after"))
    gcloud(env, "services", "enable", "iam.googleapis.com")
    listed = gcloud(env, "iam", "service-accounts", "list", "--format", "value(email)")
    assert listed.stdout.split() == [EMAIL], listed.stderr

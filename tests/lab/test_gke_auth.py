# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE's answers to kube-apiserver's token and access reviews, as the lab gives them (gke_auth.py): tables of
review in, answer out. test_planes.py checks them end to end with kubectl."""
from __future__ import annotations

import os
import time

import pytest

from kserve_lab.core import ApiError
from kserve_lab.gke_auth import access_review, permission, token_review
from kserve_lab.iam import IamState

OWNER = "admin@kserve-lab.example.com"


@pytest.mark.parametrize("attributes, expected", [
    ({"verb": "list", "resource": "pods"}, "container.pods.list"),
    ({"verb": "watch", "resource": "pods"}, "container.pods.list"),
    ({"verb": "patch", "group": "apps", "resource": "deployments"}, "container.deployments.update"),
    ({"verb": "deletecollection", "resource": "configmaps"}, "container.configMaps.delete"),
    ({"verb": "get", "resource": "pods", "subresource": "log"}, "container.pods.getLogs"),
    ({"verb": "create", "resource": "pods", "subresource": "exec"}, "container.pods.exec"),
    ({"verb": "update", "group": "apps", "resource": "deployments", "subresource": "scale"},
     "container.deployments.updateScale"),
    ({"verb": "get", "resource": "pods", "subresource": "status"}, "container.pods.getStatus"),
    ({"verb": "create", "group": "apiextensions.k8s.io", "resource": "customresourcedefinitions"},
     "container.customResourceDefinitions.create"),
    ({"verb": "bind", "group": "rbac.authorization.k8s.io", "resource": "clusterroles"}, "container.clusterRoles.bind"),
    # custom resources are all one kind to IAM
    ({"verb": "get", "group": "serving.kserve.io", "resource": "inferenceservices"}, "container.thirdPartyObjects.get"),
    (None, None),  # a non-resource request (/healthz)
])
def test_the_permission_iam_asks_for(attributes, expected):
    assert permission(attributes) == expected


@pytest.mark.parametrize("token, status", [
    ("lab-token", {"authenticated": True, "user": {"username": OWNER}}),
    ("ya29.unknown", {"authenticated": False}),
    ("", {"authenticated": False}),
])
def test_a_token_is_its_google_account_or_nobody(token, status):
    answer = token_review({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}},
                          {"lab-token": OWNER})
    assert answer == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}


@pytest.mark.parametrize("user, status", [
    (OWNER, {"allowed": True}),
    ("analyst@example.com", {"allowed": False, "reason": 'requires one of ["container.pods.list"] permission(s).'}),
    ("robot@kserve-lab.iam.gserviceaccount.com",
     {"allowed": False, "reason": 'requires one of ["container.pods.list"] permission(s).'}),
    ("system:serviceaccount:default:default", {"allowed": False}),  # no opinion: RBAC decides
    ("system:kube-scheduler", {"allowed": False}),
])
def test_iam_allows_owners_and_names_the_permission_to_other_accounts(user, status):
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": user, "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "x"}}}
    assert access_review(review, {OWNER}) == {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                              "status": status}


def test_minted_tokens_outlive_a_restart_until_they_expire_or_their_account_goes(tmp_path):
    path = str(tmp_path / "iam.json")
    state = IamState(state_path=path, token_accounts={"lab-token": OWNER})
    email = state.create("kserve-lab", {"accountId": "deployer"})["email"]
    with pytest.raises(ApiError) as refused:  # not a token creator yet
        state.generate_access_token(OWNER, email, {})
    assert refused.value.code == 403
    state.set_policy("kserve-lab", state.accounts[email], {"policy": {"bindings": [
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:" + OWNER]}]}})
    hour = state.generate_access_token(OWNER, email, {"lifetime": "3600s"})["accessToken"]
    second = state.generate_access_token(OWNER, email, {"lifetime": "1s"})["accessToken"]
    with pytest.raises(ApiError, match="can not have lifetimes of more than 1 hour"):  # without the org policy
        state.generate_access_token(OWNER, email, {"lifetime": "7200s"})
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"  # it holds tokens
    time.sleep(1.1)
    again = IamState(state_path=path, token_accounts={"lab-token": OWNER})
    assert again.live_tokens() == {"lab-token": OWNER, hour: email}
    again.route("DELETE", "/v1/projects/kserve-lab/serviceAccounts/" + email, None)
    assert again.live_tokens() == {"lab-token": OWNER}

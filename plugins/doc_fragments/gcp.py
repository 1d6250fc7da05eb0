# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The options shared by every module that calls a Google Cloud API."""

    DOCUMENTATION = r"""
options:
  project:
    description:
      - The Google Cloud project ID.
      - Falls back to E(GCP_PROJECT), then E(GOOGLE_CLOUD_PROJECT), then the project of the credentials.
    type: str
  auth_kind:
    description:
      - How to get credentials.
      - V(application) uses Application Default Credentials (C(gcloud auth application-default login),
        E(GOOGLE_APPLICATION_CREDENTIALS), or the metadata server on Google Cloud).
      - V(serviceaccount) reads the JSON key in O(service_account_file).
      - V(accesstoken) uses O(access_token) as is; it is not refreshed.
      - Falls back to E(GCP_AUTH_KIND).
    type: str
    choices: [application, serviceaccount, accesstoken]
    default: application
  service_account_file:
    description:
      - Path to a service account JSON key, for O(auth_kind=serviceaccount).
      - Falls back to E(GCP_SERVICE_ACCOUNT_FILE).
    type: path
  access_token:
    description:
      - An OAuth 2.0 access token, for O(auth_kind=accesstoken). Never logged.
      - Falls back to E(GCP_ACCESS_TOKEN).
    type: str
  api_endpoints:
    description:
      - Base URLs that replace Google's, by API name (V(compute), V(container), V(iam), V(serviceusage), V(storage)),
        for example to run against the collection's local lab or a private endpoint.
      - An API left out falls back to E(KSERVE_GKE_<API>_ENDPOINT), then to C(https://<api>.googleapis.com/).
    type: dict
    default: {}
  request_timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: float
    default: 60.0
  retries:
    description:
      - How many times a request is retried after HTTP 429, 500, 502, 503, 504 or a dropped
        connection, with exponential backoff that honours C(Retry-After).
    type: int
    default: 6
  retry_backoff:
    description:
      - Backoff factor in seconds between retries; the waits grow as 0, 2, 4, 8... times this factor.
    type: float
    default: 1.0
requirements:
  - google-auth >= 2.28.0
  - requests >= 2.31.0
notes:
  - Every module using these options is in the action group C(mlops.kserve_gke.gcp), so they can be set
    once with C(module_defaults).
"""

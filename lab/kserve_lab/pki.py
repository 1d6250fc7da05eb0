# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's certificates: one CA per cluster, and a serving certificate for
its Kubernetes API on 127.0.0.1, made with the cryptography library."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(common_name):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def _leaf(ca_cert, ca_key, subject, names, days):
    """A serving certificate for subject alternative `names` (x509 GeneralNames), signed by the given CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def make_serving_cert(ca_cert, ca_key, host):
    """The API server's certificate: its IP, localhost and kubernetes.default.svc."""
    return _leaf(ca_cert, ca_key, "kube-apiserver", [x509.IPAddress(ipaddress.ip_address(host)),
                                                     x509.DNSName("localhost"), x509.DNSName("kubernetes.default.svc")],
                 days=365)


def make_ip_cert(ca_cert, ca_key, host, subject):
    """A serving certificate for one loopback address, signed by the given CA."""
    return _leaf(ca_cert, ca_key, subject, [x509.IPAddress(ipaddress.ip_address(host))], days=365)


def make_dns_cert(ca_cert, ca_key, names):
    """A serving certificate for DNS names, signed by the given CA."""
    return _leaf(ca_cert, ca_key, names[0], [x509.DNSName(n) for n in names], days=90)


def make_service_cert(ca_cert, ca_key, namespace, service):
    """A serving certificate for a Service's DNS names (<service>.<namespace>.svc and the cluster.local form), as
    a component makes for its webhook."""
    return make_dns_cert(ca_cert, ca_key, ["%s.%s.svc" % (service, namespace),
                                           "%s.%s.svc.cluster.local" % (service, namespace)])


def write_private(path, data):
    """Write bytes or text to `path`, readable by its owner only (keys, tokens), replacing it at once."""
    with os.fdopen(os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    os.replace(path + ".tmp", path)


def serve_tls(server, certfile, keyfile):
    """Make a socketserver server on loopback answer over TLS with this certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    server.socket = context.wrap_socket(server.socket, server_side=True)


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ClusterPki:
    """Makes the CA and serving certificate for each cluster the GKE twin creates."""

    def __init__(self, directory, host="127.0.0.1"):
        self.directory = directory
        self.host = host

    def __call__(self, key):
        project, location, name = key
        folder = os.path.join(self.directory, "clusters", "%s_%s_%s" % (project, location, name))
        os.makedirs(folder, exist_ok=True)
        ca_cert, ca_key = make_ca("kserve-lab %s" % name)
        cert, cert_key = make_serving_cert(ca_cert, ca_key, self.host)
        ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        files = {"ca.pem": ca_pem, "ca.key": key_pem(ca_key),
                 "apiserver.pem": cert.public_bytes(serialization.Encoding.PEM), "apiserver.key": key_pem(cert_key)}
        for filename, data in files.items():
            with open(os.path.join(folder, filename), "wb") as handle:
                handle.write(data)
            os.chmod(os.path.join(folder, filename), 0o600)
        port = free_port(self.host)
        with open(os.path.join(folder, "port"), "w", encoding="utf-8") as handle:
            handle.write(str(port))
        # GKE reports a bare IP; the lab's API twin listens on its own port.
        return "%s:%d" % (self.host, port), ca_pem

"""HTTPS for the sandbox: a self-signed serving certificate made once per process.

Why TLS at all: kubectl (client-go's clientcmd) only reads a kubeconfig's credentials when the
server is `https://` — over plain HTTP it sends no token, so a sandbox that authenticates requests
(RBAC, ServiceAccount tokens, 401 for anonymous ones) must speak TLS, as every real apiserver does.
The certificate is its own CA (P-256, valid for 127.0.0.1, ::1, localhost and the bound host), so the
kubeconfig carries it as `certificate-authority-data` and clients verify the server for real.
"""
from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Long enough for any test run or demo; the sandbox makes a new one per process anyway.
VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class ServingCertificate:
    cert_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="meshops-sandbox-tls-") as directory:
            cert, key = Path(directory) / "tls.crt", Path(directory) / "tls.key"
            cert.write_bytes(self.cert_pem)
            key.write_bytes(self.key_pem)
            context.load_cert_chain(cert, key)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this certificate (for raw HTTPS clients in tests and benchmarks)."""
        return ssl.create_default_context(cadata=self.cert_pem.decode())


def _make(host: str) -> ServingCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meshops-sandbox")])
    now = datetime.datetime.now(datetime.timezone.utc)
    addresses = {"127.0.0.1", "::1"}
    names = {"localhost", "kubernetes", "kubernetes.default.svc"}
    try:
        addresses.add(str(ipaddress.ip_address(host)))
    except ValueError:
        names.add(host)
    alternatives = [x509.DNSName(n) for n in sorted(names)] + [x509.IPAddress(ipaddress.ip_address(a))
                                                               for a in sorted(addresses)]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .sign(key, hashes.SHA256()))
    return ServingCertificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


_CERTIFICATES: dict[str, ServingCertificate] = {}
_LOCK = threading.Lock()


def serving_certificate(host: str) -> ServingCertificate:
    """The process's certificate for `host` (made on first use)."""
    with _LOCK:
        if host not in _CERTIFICATES:
            _CERTIFICATES[host] = _make(host)
        return _CERTIFICATES[host]

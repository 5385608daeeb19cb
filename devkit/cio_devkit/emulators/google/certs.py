"""A self-signed certificate for the emulator, because the Google Ads client only ever opens TLS channels.

``GoogleAdsClient`` builds its own secure channel from ``grpc.ssl_channel_credentials()`` with no way to pass root
certificates. gRPC's C core takes default roots from ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` - but it reads that
variable ONCE per process, when the first TLS channel without explicit roots is created (checked on grpcio 1.85:
a second bundle set later is ignored). So:

- ``trust_bundle()`` writes a bundle = our certificate + the public roots grpc ships, so other TLS channels in the
  same process keep working, and points the variable at it;
- the certificate is generated once per process (``process_certificate``) and reused by every emulator started in
  that process, so a bundle read early stays valid for emulators started later.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOTS_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"


@dataclass(frozen=True)
class CertificatePair:
    """PEM files on disk: the server key and certificate, and the trust bundle clients should use."""

    key_path: Path
    cert_path: Path
    bundle_path: Path

    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()

    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()


_process_pair: CertificatePair | None = None


def generate(directory: Path, *, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> CertificatePair:
    """Write a fresh key + self-signed certificate valid for ``hosts`` (DNS names and IPs) into ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airflow-provider-cio google emulator")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path = directory / "emulator-key.pem"
    cert_path = directory / "emulator-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o600)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(cert_pem)
    bundle_path = directory / "trust-bundle.pem"
    bundle_path.write_bytes(cert_pem + b"\n" + _grpc_public_roots())
    return CertificatePair(key_path=key_path, cert_path=cert_path, bundle_path=bundle_path)


def load(directory: Path) -> CertificatePair | None:
    """The pair previously written to ``directory``, if complete (the devstack restarts reuse it)."""
    pair = CertificatePair(
        key_path=directory / "emulator-key.pem",
        cert_path=directory / "emulator-cert.pem",
        bundle_path=directory / "trust-bundle.pem",
    )
    if all(p.exists() for p in (pair.key_path, pair.cert_path, pair.bundle_path)):
        return pair
    return None


def process_certificate() -> CertificatePair:
    """One certificate per process, honouring a bundle that ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` already names."""
    global _process_pair
    if _process_pair is None:
        existing = os.environ.get(ROOTS_ENV)
        if existing and (found := load(Path(existing).parent)) and found.bundle_path == Path(existing):
            _process_pair = found
        else:
            _process_pair = generate(Path(tempfile.mkdtemp(prefix="cio-google-emulator-")))
    return _process_pair


def trust_bundle(pair: CertificatePair) -> None:
    """Point gRPC's default roots at ``pair``'s bundle (effective only before the first default TLS channel)."""
    os.environ[ROOTS_ENV] = str(pair.bundle_path)


def _grpc_public_roots() -> bytes:
    """The public roots grpc ships (the default it would use), so trusting our cert does not distrust Google."""
    import grpc

    path = Path(grpc.__file__).parent / "_cython" / "_credentials" / "roots.pem"
    return path.read_bytes() if path.exists() else b""

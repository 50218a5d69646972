"""Certificates for the tests' TLS servers: a CA of their own and server certificates it signs, or not."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path


def certificates(directory: Path) -> dict[str, tuple[Path, Path]]:
    """A CA (``ca.pem``) and server certificates (cert, key) it signs: ``good`` (127.0.0.1), ``expired``,
    ``other-host`` (www.example.org); ``self-signed`` (127.0.0.1, signed by itself)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linkpatrol handler test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - 10 * day).not_valid_after(now + day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made = {}
    for name, san, start, end, self_signed in (
            ("good", x509.IPAddress(ipaddress.ip_address("127.0.0.1")), now - day, now + day, False),
            ("expired", x509.IPAddress(ipaddress.ip_address("127.0.0.1")), now - 5 * day, now - 2 * day, False),
            ("other-host", x509.DNSName("www.example.org"), now - day, now + day, False),
            ("self-signed", x509.IPAddress(ipaddress.ip_address("127.0.0.1")), now - day, now + day, True)):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject if self_signed else ca_name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([san]), critical=False)
                .sign(key if self_signed else ca_key, hashes.SHA256()))
        made[name] = directory / f"{name}.pem", directory / f"{name}.key"
        made[name][0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        made[name][1].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return made

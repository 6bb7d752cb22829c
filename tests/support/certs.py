"""Certificates made at test time: a CA, server or client certificates it signs, and a
second, unrelated CA for the wrong-CA cases. Nothing is kept between runs."""
from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    cert_file: str
    key_file: str


@dataclass(frozen=True)
class CertAuthority:
    """A self-signed CA whose certificate is at `ca_file`."""

    name: str
    directory: Path
    ca_file: str
    _key: ec.EllipticCurvePrivateKey
    _cert: x509.Certificate

    def issue(self, name: str, addresses: Sequence[str] = (), *,
              client: bool = False) -> Issued:
        """A certificate for `addresses` (IPs or DNS names) signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for address in addresses:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(address)))
            except ValueError:
                sans.append(x509.DNSName(address))
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(self._cert.subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - _DAY).not_valid_after(now + _DAY)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.CLIENT_AUTH if client
                        else ExtendedKeyUsageOID.SERVER_AUTH]), False)
                   # Strict verifiers (Python 3.13's default) want both key identifiers.
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self._key.public_key()), False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
        cert = builder.sign(self._key, hashes.SHA256())
        cert_file = self.directory / f"{name}.crt"
        key_file = self.directory / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_key_pem(key))
        return Issued(str(cert_file), str(key_file))


def make_ca(directory: Path, name: str = "Neutrino Test CA") -> CertAuthority:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY).not_valid_after(now + _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256()))
    ca_file = directory / f"{name.replace(' ', '-').lower()}.pem"
    ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertAuthority(name, directory, str(ca_file), key, cert)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())

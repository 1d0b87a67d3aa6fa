"""Certificates made at test time (nothing secret is committed): a throwaway CA, a good server
certificate for localhost/127.0.0.1, one for another name, an expired one, and a self-signed one."""

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, cert, key) -> None:
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def _leaf(issuer_name, issuer_key, names, not_before, not_after, self_signed=False):
    key = _key()
    subject = _name(names[0])
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(subject if self_signed else issuer_name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.SubjectAlternativeName(sans), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    cert = builder.sign(key if self_signed else issuer_key, hashes.SHA256())
    return cert, key


def make_certs(directory: Path) -> dict:
    """Writes ca.pem, good.pem/.key, wrongname.pem/.key, expired.pem/.key, selfsigned.pem/.key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    ca_key = _key()
    ca_name = _name("smtpkit throwaway test CA")
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - day).not_valid_after(now + 30 * day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    _write(directory / "ca", ca, ca_key)
    local = ["localhost", "127.0.0.1"]
    _write(directory / "good", *_leaf(ca_name, ca_key, local, now - day, now + 30 * day))
    _write(directory / "wrongname",
           *_leaf(ca_name, ca_key, ["mail.example.org"], now - day, now + 30 * day))
    _write(directory / "expired", *_leaf(ca_name, ca_key, local, now - 10 * day, now - day))
    _write(directory / "selfsigned",
           *_leaf(None, None, local, now - day, now + 30 * day, self_signed=True))
    return {n: (directory / f"{n}.pem", directory / f"{n}.key")
            for n in ("ca", "good", "wrongname", "expired", "selfsigned")}

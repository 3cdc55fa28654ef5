"""A real IMAP server for tests: Debian's Dovecot on the loopback, in a folder of its own.

Dovecot runs in the foreground with its own base and state directories and a passwd-file user
database, on free ports: plain IMAP (with STARTTLS) and IMAPS, with a certificate made here for
127.0.0.1 that tests trust through ``SSL_CERT_FILE``. As root it drops to Debian's ``dovecot``
users; as anyone else it runs as that user. Mail is put in with the standard library's
``imaplib`` (APPEND), as another mail client would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors.email.imap_client import folder_name

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def require_dovecot() -> None:
    if os.path.exists(DOVECOT):
        return
    import pytest

    message = "Dovecot is not installed (Debian package dovecot-imapd)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; .ci/run should have installed it")
    pytest.skip(f"SKIPPED LOUDLY: {message}; the IMAP tests need a real IMAP server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kefu test IMAP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


class Dovecot:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.imap_port = _free_port()
        self.imaps_port = _free_port()
        self.users: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self.ca_file, self._key_file = _certificate(folder)
        if os.getuid() == 0:
            self._mail_user = pwd.getpwnam("dovecot")
            self._login_user, self._internal_user = "dovenull", "dovecot"
        else:
            self._mail_user = pwd.getpwuid(os.getuid())
            self._login_user = self._internal_user = self._mail_user.pw_name

    def add_user(self, name: str, password: str) -> None:
        home = self.folder / "home" / name
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, self._mail_user.pw_uid, self._mail_user.pw_gid)
        os.chown(home.parent, self._mail_user.pw_uid, self._mail_user.pw_gid)
        self.users[name] = password
        lines = [
            f"{user}:{{PLAIN}}{secret}:{self._mail_user.pw_uid}:{self._mail_user.pw_gid}::"
            f"{self.folder / 'home' / user}"
            for user, secret in self.users.items()
        ]
        (self.folder / "passwd").write_text("\n".join(lines) + "\n")

    def _config(self) -> Path:
        folder = self.folder
        for name in ("base", "state"):
            (folder / name).mkdir(exist_ok=True)
        conf = folder / "dovecot.conf"
        conf.write_text(
            f"""
base_dir = {folder / "base"}
state_dir = {folder / "state"}
log_path = {folder / "dovecot.log"}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{self._key_file}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {self._login_user}
default_internal_user = {self._internal_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder / "passwd"}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        return conf

    def start(self) -> None:
        conf = self._config()
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot stopped: {self._log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen: {self._log()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)

    def logins(self, *, secured: bool) -> int:
        """How many sessions logged in so far: over TLS (a mail client of the tests') or not
        (the hub's reader, set to plain IMAP)."""
        path = self.folder / "dovecot.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return sum(1 for line in lines if "Login:" in line and (", TLS" in line) == secured)

    def _log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text()[-2000:] if path.exists() else ""

    @contextmanager
    def client(self, user: str) -> Iterator[imaplib.IMAP4]:
        """A mail client of the user's, over IMAPS."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        connection = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=context)
        try:
            connection.login(user, self.users[user])
            yield connection
        finally:
            with suppress(imaplib.IMAP4.error):
                connection.logout()

    def append(self, user: str, raw: bytes, folder: str = "INBOX", days_ago: int = 0) -> None:
        """Put a mail in the folder, received ``days_ago`` (the server's internal date)."""
        received = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
        with self.client(user) as client:
            status, answer = client.append(
                folder_name(folder), None, imaplib.Time2Internaldate(received), raw
            )
            assert status == "OK", answer

    async def append_async(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        await asyncio.to_thread(self.append, user, raw, folder)


@contextmanager
def running_dovecot(users: dict[str, str]) -> Iterator[Dovecot]:
    require_dovecot()
    # a folder of its own outside pytest's (which pytest keeps at 0700): the unprivileged
    # mail user must reach its home
    folder = Path(tempfile.mkdtemp(prefix="kefu-dovecot-"))
    folder.chmod(0o711)
    server = Dovecot(folder)
    try:
        for name, password in users.items():
            server.add_user(name, password)
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

"""Operator keys that sign commands."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.common import PATH, command_group, err, out

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

keys_app = command_group("keys", "Operator keys that sign commands.")


@keys_app.command("new")
@click.option("--out", "out_file", type=PATH, required=True, help="Where to write the private key.")
@click.option(
    "--name", default="operator", show_default=True, help="The operator's name in the config."
)
@click.option(
    "--passphrase", is_flag=True, help="Encrypt the private key with a passphrase (asked twice)."
)
@click.option(
    "--passphrase-stdin",
    is_flag=True,
    help="Encrypt it with a passphrase read from standard input.",
)
def keys_new(out_file: Path, name: str, passphrase: bool, passphrase_stdin: bool) -> None:
    """Create an operator key pair; prints the config lines for the public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if out_file.exists():
        err.print(f"{out_file} exists; refusing to overwrite a key")
        raise SystemExit(1)
    secret = _new_passphrase(passphrase_stdin) if passphrase or passphrase_stdin else None
    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    sealed = " encrypted with your passphrase" if secret else ""
    out.print(f"private key written to {out_file}{sealed} (keep it off the gateway)")
    out.print("add to the gateway's configuration:\n")
    print(f'[[commands.operators]]\nname = "{name}"\npublic_key = "{public}"')


def _new_passphrase(from_stdin: bool) -> bytes:
    """A passphrase of at least 12 characters, from standard input or asked twice."""
    import getpass
    import sys

    if from_stdin:
        phrase = sys.stdin.readline().rstrip("\n")
    else:
        phrase = getpass.getpass("passphrase for the private key: ")
        if getpass.getpass("again: ") != phrase:
            err.print("the two passphrases differ")
            raise SystemExit(2)
    if len(phrase) < 12:
        err.print("a passphrase needs at least 12 characters")
        raise SystemExit(2)
    return phrase.encode()


def load_operator_key(path: Path, passphrase_stdin: bool = False) -> Ed25519PrivateKey:
    """An operator's private key; asks for its passphrase when it is encrypted."""
    import getpass
    import sys

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = path.read_bytes()
    password = None
    if b"ENCRYPTED" in data:
        phrase = (
            sys.stdin.readline().rstrip("\n")
            if passphrase_stdin
            else getpass.getpass(f"passphrase for {path}: ")
        )
        password = phrase.encode()
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (TypeError, ValueError):
        err.print(f"{path}: not a private key, or the passphrase is wrong")
        raise SystemExit(2) from None
    if not isinstance(key, Ed25519PrivateKey):
        err.print(f"{path} is not an Ed25519 private key (make one with `gateway keys new`)")
        raise SystemExit(2)
    return key

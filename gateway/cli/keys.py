"""Operator keys that sign commands."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import command_group, err, out

keys_app = command_group("Operator keys that sign commands.")


@keys_app.command("new")
def keys_new(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key.")],
    name: Annotated[str, typer.Option(help="The operator's name in the config.")] = "operator",
) -> None:
    """Create an operator key pair; prints the config lines for the public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if out_file.exists():
        err.print(f"{out_file} exists; refusing to overwrite a key")
        raise typer.Exit(1)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    out.print(f"private key written to {out_file} (keep it off the gateway)")
    out.print("add to the gateway's configuration:\n")
    print(f'[[commands.operators]]\nname = "{name}"\npublic_key = "{public}"')

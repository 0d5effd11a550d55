"""Sending a command to a gateway and printing its reply."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.common import (
    PATH,
    POSITIVE,
    _broker_settings,
    _load,
    command_group,
    config_option,
    err,
    out,
)
from gateway.topics import Topics

if TYPE_CHECKING:
    from gateway.settings import MqttSettings

command_app = command_group("command", "Send commands to a gateway.")


@command_app.command("send")
@click.argument("device")
@click.argument("name", metavar="COMMAND")
@config_option
@click.option("--args", default="{}", show_default=True, help="Arguments as a JSON object.")
@click.option("--sign", type=PATH, help="Operator private key.")
@click.option(
    "--passphrase-stdin", is_flag=True, help="Read the key's passphrase from standard input."
)
@click.option("--broker", help="mqtt://host:port (default: config)")
@click.option(
    "--timeout",
    type=POSITIVE,
    default=10.0,
    show_default=True,
    help="Seconds to wait for the reply.",
)
def command_send(
    device: str,
    name: str,
    config: Path,
    args: str,
    sign: Path | None,
    passphrase_stdin: bool,
    broker: str | None,
    timeout: float,
) -> None:
    """Send one command to a gateway and print its reply (exit 1 if refused)."""
    import asyncio

    from gateway.cli.keys import load_operator_key
    from gateway.commands import sign_command
    from gateway.messages import new_ulid

    cfg = _load(config)
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as error:
        err.print(f"--args is not JSON: {error}")
        raise SystemExit(2) from None
    topics = Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id)
    topic = topics.command(device, name)
    command_id = new_ulid()
    if sign is not None:
        body = sign_command(load_operator_key(sign, passphrase_stdin), topic, command_id, arguments)
    else:
        body = {"id": command_id, "args": arguments}
    reply = asyncio.run(
        _request(_broker_settings(cfg, broker), topic, topics.reply(command_id), body, timeout)
    )
    if reply is None:
        err.print(f"no reply within {timeout} s (is the gateway online?)")
        raise SystemExit(1)
    out.print_json(data=reply)
    raise SystemExit(0 if reply.get("ok") else 1)


async def _request(
    settings: MqttSettings, topic: str, reply_topic: str, body: dict[str, Any], timeout: float
) -> Any:
    import asyncio

    from gateway.mqtt import Observer

    async with Observer(settings) as client:
        await client.subscribe(reply_topic)
        await client.publish(topic, json.dumps(body).encode())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for message in client.messages():
                    return message.json()
    return None

"""Sending a command to a gateway and printing its reply."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.common import ConfigOption, _broker_settings, _load, command_group, err, out
from gateway.topics import Topics

if TYPE_CHECKING:
    from gateway.settings import MqttSettings

command_app = command_group("Send commands to a gateway.")


@command_app.command("send")
def command_send(
    device: str,
    name: Annotated[str, typer.Argument(metavar="COMMAND")],
    config: ConfigOption,
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    sign: Annotated[Path | None, typer.Option("--sign", help="Operator private key.")] = None,
    passphrase_stdin: Annotated[
        bool, typer.Option(help="Read the key's passphrase from standard input.")
    ] = False,
    broker: Annotated[str | None, typer.Option(help="mqtt://host:port (default: config)")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the reply.")] = 10.0,
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
        raise typer.Exit(2) from None
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
        raise typer.Exit(1)
    out.print_json(data=reply)
    raise typer.Exit(0 if reply.get("ok") else 1)


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

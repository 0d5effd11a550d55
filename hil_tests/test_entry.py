"""The gate: residents walk up and in, strangers do not, second factors, welfare, audit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.commands import sign_command
from hil_tests.gate import (
    DOOR,
    configure,
    enroll,
    events,
    gateway_cli,
    started,
    walk_up,
    walked_through,
    world,
)
from hil_tests.harness import TOPICS, GatewayProcess, Upstream


async def test_a_resident_walks_in_and_the_door_relocks_when_it_closes(
    gate: GatewayProcess, upstream: Upstream, faces: Path
) -> None:
    enroll(gate, faces, "R1", "John_Salley")
    await started(gate, upstream)
    assert not (await world(gate, "get"))["released"]
    await walk_up(gate, faces, "John_Salley", 7, 8)
    granted = (await upstream.wait_for(lambda: events(upstream, "access_granted")))[0]
    assert granted["resident_id"] == "R1" and granted["distance"] < 0.5
    await walked_through(gate, 1)
    await asyncio.sleep(0.2)
    # Relocked as soon as the door closed, long before strike_seconds (5 s) ran out.
    assert not (await world(gate, "get"))["released"]
    assert not events(upstream, "door_forced") and not events(upstream, "unknown_face")
    audit = gateway_cli(gate, "audit", "verify")
    assert "intact" in audit
    shown = gateway_cli(gate, "residents", "show", "R1", "--json")
    assert '"last_seen": "20' in shown and "access_granted" in shown


async def test_strangers_suspended_and_removed_residents_stay_out(
    gate: GatewayProcess, upstream: Upstream, faces: Path
) -> None:
    enroll(gate, faces, "R1", "John_Salley")
    enroll(gate, faces, "R2", "John_Savage")
    await started(gate, upstream)

    await walk_up(gate, faces, "John_Simm", 1, 2, 3)
    unknown = (await upstream.wait_for(lambda: events(upstream, "unknown_face")))[0]
    assert unknown["severity"] == "warning"

    gateway_cli(gate, "residents", "suspend", "R1")
    await asyncio.sleep(1.5)  # the door reloads its gallery within a second
    await walk_up(gate, faces, "John_Salley", 7, 8)
    denied = (await upstream.wait_for(lambda: events(upstream, "access_denied")))[0]
    assert denied == denied | {"reason": "suspended", "resident_id": "R1"}

    gateway_cli(gate, "residents", "remove", "R2", "--yes")
    await asyncio.sleep(1.5)
    before = len(events(upstream, "unknown_face"))
    await walk_up(gate, faces, "John_Savage", 5, 6, 7)
    await asyncio.sleep(3)
    # Removed: the templates are gone, the face is unknown (reported at most once a minute).
    assert len(events(upstream, "unknown_face")) == before
    assert not events(upstream, "access_granted")
    assert (await world(gate, "get"))["passages"] == 0


async def test_a_photo_of_no_face_does_nothing_and_a_forced_door_is_critical(
    gate: GatewayProcess, upstream: Upstream, faces: Path
) -> None:
    enroll(gate, faces, "R1", "John_Salley")
    await started(gate, upstream)
    sock_photos = [str(faces / "objects" / n) for n in ("rocket.jpg", "moon.png")]
    await world(gate, "walk_up", photos=sock_photos, seconds=3)
    await asyncio.sleep(3.5)
    assert not events(upstream, "unknown_face") and not events(upstream, "access_granted")
    assert not (await world(gate, "get"))["released"]

    await world(gate, "force")
    forced = (await upstream.wait_for(lambda: events(upstream, "door_forced")))[0]
    assert forced["severity"] == "critical"
    await world(gate, "close")


async def test_welfare_check_fires_after_the_time_scaled_period(
    gate: GatewayProcess, upstream: Upstream, faces: Path
) -> None:
    configure(gate, time_scale=3600, extra="welfare_check_h = 2")
    enroll(gate, faces, "R1", "John_Salley", "--welfare-check")
    enroll(gate, faces, "R2", "John_Savage")
    await started(gate, upstream)
    due = (await upstream.wait_for(lambda: events(upstream, "welfare_check_due"), timeout=20))[0]
    assert due["resident_id"] == "R1" and due["last_seen"] is None
    assert {e["resident_id"] for e in events(upstream, "welfare_check_due")} == {"R1"}
    await walk_up(gate, faces, "John_Salley", 7, 8)
    await upstream.wait_for(lambda: events(upstream, "welfare_check_cleared"))


async def test_residents_enrolled_and_removed_by_signed_commands(
    gate: GatewayProcess, upstream: Upstream, faces: Path, key_pair: tuple[Any, str]
) -> None:
    import base64

    await started(gate, upstream)
    folder = faces / "people/John_Salley"
    photos = [base64.b64encode((folder / f"0{n}.jpg").read_bytes()).decode() for n in (2, 3)]
    photos.append(base64.b64encode(b"not a photo").decode())

    async def send(command: str, command_id: str, **args: Any) -> dict[str, Any]:
        topic = TOPICS.command(DOOR, command)
        await upstream.send(DOOR, command, sign_command(key_pair[0], topic, command_id, args))
        reply: dict[str, Any] = await upstream.wait_for(
            lambda: upstream.replies().get(command_id), timeout=30
        )
        return reply

    consent = "2026-11-23T09:00:00Z"
    bad = await send(
        "enroll_resident", "e0", resident_id="R9", name="C", unit="9", photos=photos,
        consent_at=consent,
    )  # fmt: skip
    assert bad["ok"] is False and bad["error"]["field"] == "photos"
    assert "photo 3 is not a base64 JPEG" in bad["error"]["message"]
    good = await send(
        "enroll_resident", "e1", resident_id="R9", name="John Salley", unit="9",
        photos=photos[:2], consent_at=consent,
    )  # fmt: skip
    assert good == {"id": "e1", "ok": True, "result": {"resident_id": "R9", "accepted": 2,
                                                       "rejected": []}}  # fmt: skip
    await walk_up(gate, faces, "John_Salley", 7, 8)
    granted = (await upstream.wait_for(lambda: events(upstream, "access_granted")))[0]
    assert granted["resident_id"] == "R9"
    removed = await send("remove_resident", "r1", resident_id="R9")
    assert removed["ok"] and removed["result"]["status"] == "removed"
    missing = await send("suspend_resident", "s1", resident_id="R9")
    assert missing["ok"] is False and "no resident 'R9'" in missing["error"]["message"]
    shown = gateway_cli(gate, "audit", "verify")
    assert "intact" in shown


async def test_the_second_factor_waits_for_a_signed_approval_checked_when_applied(
    gate: GatewayProcess, upstream: Upstream, faces: Path, key_pair: tuple[Any, str]
) -> None:
    # Every grant waits for upstream's approval ("unconfident" with a tiny confident distance
    # would do the same).
    configure(gate, extra='second_factor = "always"')
    enroll(gate, faces, "R1", "John_Salley")
    await started(gate, upstream)
    await walk_up(gate, faces, "John_Salley", 7, 8)
    asked = (await upstream.wait_for(lambda: events(upstream, "approval_requested")))[0]
    assert asked["resident_id"] == "R1" and asked["distance"] < 0.55
    assert not (await world(gate, "get"))["released"] and not events(upstream, "access_granted")

    topic = TOPICS.command(DOOR, "approve")
    wrong = sign_command(key_pair[0], topic, "a0", {"request_id": "nope"})
    await upstream.send(DOOR, "approve", wrong)
    refused = await upstream.wait_for(lambda: upstream.replies().get("a0"))
    assert refused["ok"] is False and refused["error"]["field"] == "request_id"
    approval = sign_command(key_pair[0], topic, "a1", {"request_id": asked["request_id"]})
    await upstream.send(DOOR, "approve", approval)
    reply = await upstream.wait_for(lambda: upstream.replies().get("a1"))
    assert reply["ok"] and reply["result"]["resident_id"] == "R1"
    granted = (await upstream.wait_for(lambda: events(upstream, "access_granted")))[0]
    assert granted["approved_by"] == "upstream"
    again = sign_command(key_pair[0], topic, "a2", {"request_id": asked["request_id"]})
    await upstream.send(DOOR, "approve", again)  # an approval opens once
    assert (await upstream.wait_for(lambda: upstream.replies().get("a2")))["ok"] is False

    # Suspended while upstream decides: the approval is checked again when it is applied.
    await world(gate, "close")
    await asyncio.sleep(6)  # the grant ran out and the walk-up ended
    await walk_up(gate, faces, "John_Salley", 7, 8)
    await upstream.wait_for(lambda: len(events(upstream, "approval_requested")) >= 2)
    second = events(upstream, "approval_requested")[-1]
    gateway_cli(gate, "residents", "suspend", "R1")
    late = sign_command(key_pair[0], topic, "a3", {"request_id": second["request_id"]})
    await upstream.send(DOOR, "approve", late)
    stale = await upstream.wait_for(lambda: upstream.replies().get("a3"))
    assert stale["ok"] is False and "suspended" in stale["error"]["message"]
    assert len(events(upstream, "access_granted")) == 1


CARE_POINT = """
[[devices]]
kind = "care_point"
id = "care-1a"
unit = "1A"
presence_pin = 26
door_pin = 6
report_period_s = 3600
sample_period_s = 10
"""


async def test_gate_passages_and_home_activity_both_count_for_the_welfare_check(
    gate: GatewayProcess, upstream: Upstream, faces: Path
) -> None:
    configure(gate, time_scale=3600, extra=CARE_POINT)
    # John Salley lives alone in 1A, with his own period of two hours.
    enroll(gate, faces, "R1", "John_Salley", "--welfare-check", "--welfare-hours", "2")
    await started(gate, upstream)
    sock = control_socket(gate.config_file.parent / "data")
    await request(sock, {"model": "care-1a", "action": "set", "args": {"active": False}})

    def home(name: str) -> list[dict[str, Any]]:
        return [
            e["data"]
            for e in upstream.envelopes("event")
            if e["device"] == "care-1a" and e["data"]["event"] == name
        ]

    due = (await upstream.wait_for(lambda: home("welfare_check_due"), timeout=30))[0]
    assert due["unit"] == "1A" and due["resident_ids"] == ["R1"] and due["unseen_h"] >= 2
    # The home's care point announces its resident; the gate does not repeat it.
    assert not events(upstream, "welfare_check_due")
    # A passage through the gate is a sign of life for the home's check.
    await walk_up(gate, faces, "John_Salley", 7, 8)
    await upstream.wait_for(lambda: home("welfare_check_cleared"), timeout=30)
    # Two more hours without one: due again, and a movement at home clears it.
    await upstream.wait_for(lambda: len(home("welfare_check_due")) >= 2, timeout=30)
    await request(sock, {"model": "care-1a", "action": "move", "args": {}})
    await upstream.wait_for(lambda: len(home("welfare_check_cleared")) >= 2, timeout=10)
    assert not events(upstream, "welfare_check_due")


def rewrite_audit(data: Path, seq: int, change: dict[str, Any]) -> None:
    """What someone who can write the gateway's files does: edit entry ``seq``, then
    recompute every later hash and the head file, so that the chain alone looks intact."""
    import json
    import sqlite3

    from gateway.audit import _digest

    with sqlite3.connect(data / "gateway.sqlite3") as db:
        rows = db.execute(
            "SELECT seq, ts, actor, action, subject, data, prev, hash FROM audit ORDER BY seq"
        ).fetchall()
        prev = rows[seq - 2][7] if seq > 1 else "0" * 64
        for number, ts, actor, action, subject, body, _, _ in rows[seq - 1 :]:
            if number == seq:
                body = json.dumps(json.loads(body) | change, sort_keys=True, separators=(",", ":"))
            digest = _digest(prev, number, ts, actor, action, subject, body)
            db.execute(
                "UPDATE audit SET data = ?, prev = ?, hash = ? WHERE seq = ?",
                (body, prev, digest, number),
            )
            prev = digest
    (data / "audit.head").write_text(f"{rows[-1][0]} {prev}\n")


async def test_a_rewritten_audit_log_is_caught_by_the_checkpoint_upstream(
    gate: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    await started(gate, upstream)
    born = [s for s in upstream.statuses() if s.get("online")][-1]
    topic = TOPICS.command(DOOR, "unlock")
    await upstream.send(DOOR, "unlock", sign_command(key_pair[0], topic, "u1", {"seconds": 30}))
    assert (await upstream.wait_for(lambda: upstream.replies().get("u1")))["ok"]

    def checkpoints() -> list[dict[str, Any]]:
        return [
            e["data"]
            for e in upstream.envelopes("event")
            if e["data"]["event"] == "audit_checkpoint" and e["data"]["seq"] >= 1
        ]

    # A grant is anchored at once (within the checkpointer's second), not in 10 minutes.
    anchored = (await upstream.wait_for(checkpoints, timeout=10))[-1]
    assert anchored["severity"] == "critical" and len(anchored["hash"]) == 64
    assert anchored["sig"] and born["audit_key"]
    await upstream.wait_for(
        lambda: [
            m for m in upstream.messages
            if m.topic == TOPICS.audit and m.json()["seq"] == anchored["seq"]
        ]
    )  # fmt: skip
    assert "agrees" in gateway_cli(gate, "audit", "verify", "--upstream")

    gate.close()  # stopped; then the remote unlock becomes 5 s in the log, hashes recomputed
    data = gate.config_file.parent / "data"
    rewrite_audit(data, anchored["seq"], {"seconds": 5.0})
    assert "intact" in gateway_cli(gate, "audit", "verify")  # the chain alone is fooled
    broken = gateway_cli(gate, "audit", "verify", "--upstream", exit_code=1)
    assert f"entry {anchored['seq']} is not the one the gateway signed" in broken
    assert "rewritten" in broken


async def test_a_printed_photo_or_a_screen_of_a_resident_never_opens_the_gate(
    gate: GatewayProcess, upstream: Upstream, faces: Path
) -> None:
    """Liveness on (the default): the same woman enrolled from a live capture is refused on
    a phone screen and on a print held up to the camera, then let in live."""
    configure(gate, liveness="passive")
    captures = faces / "captures"
    gateway_cli(
        gate, "residents", "enroll", "--id", "R1", "--name", "Mei", "--unit", "3C",
        str(captures / "live.jpg"),
    )  # fmt: skip
    checked = json.loads(
        gateway_cli(
            gate,
            "residents",
            "identify",
            "--json",
            str(captures / "screen.jpg"),
            str(captures / "live.jpg"),
        )
    )
    assert checked[0]["liveness"]["live"] is False and checked[0]["resident"] is None
    assert checked[1]["liveness"]["live"] is True and checked[1]["resident"] == "R1"
    await started(gate, upstream)
    for attack in ("screen", "print"):
        await world(gate, "walk_up", photos=[str(captures / f"{attack}.jpg")], seconds=2,
                    as_frame=True)  # fmt: skip
        await asyncio.sleep(2.5)
    attacks = await upstream.wait_for(lambda: events(upstream, "presentation_attack"))
    assert attacks[0]["severity"] == "warning" and attacks[0]["liveness"] < 0.3
    assert len(attacks) == 1  # at most once a minute
    assert not events(upstream, "access_granted")
    assert (await world(gate, "get"))["passages"] == 0
    await world(gate, "walk_up", photos=[str(captures / "live.jpg")], seconds=3, as_frame=True)
    granted = (await upstream.wait_for(lambda: events(upstream, "access_granted")))[0]
    assert granted["resident_id"] == "R1"

"""Configuration: the example and demo load; every mistake names file, key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import load_config, parse_config
from gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = 'site = "park"\ngateway_id = "gw"\n'


@pytest.mark.parametrize("name", ["gateway.example.toml", "demo.toml"])
def test_shipped_configurations_load(name: str) -> None:
    config = load_config(ROOT / "config" / name)
    assert config.devices[0].kind == "gateway"
    assert {"bin", "water_station"} <= {d.kind for d in config.devices}


def test_defaults_and_relative_data_dir(tmp_path: Path) -> None:
    file = tmp_path / "g.toml"
    file.write_text(MINIMAL + 'data_dir = "state"\n')
    config = load_config(file)
    assert config.data_dir == tmp_path / "state"
    assert config.mqtt.prefix == "cg/v1" and config.hardware == "auto"
    assert parse_config(MINIMAL).data_dir == Path("/var/lib/community-gateway")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.toml")
    return [str(p) for p in info.value.problems]


def test_unknown_keys_are_errors_with_what_is_allowed() -> None:
    found = problems(MINIMAL + "[mqtt]\nhots = 'x'\n")
    assert found == [
        "g.toml:mqtt.hots: unknown key (allowed: backlog_reconnect_max_s, "
        "client_id, host, inflight, insecure_plaintext, keepalive_s, password, port, prefix, "
        "reconnect_max_s, reconnect_min_s, tls, username) (line 4)"
    ]


def test_device_errors_name_the_device_index_and_line() -> None:
    text = MINIMAL + (
        '[[devices]]\nkind = "gateway"\nid = "gateway"\n'
        '[[devices]]\nkind = "gateway"\nid = "gateway"\nreport_period_s = -1\n'
        '[[devices]]\nkind = "toaster"\nid = "t"\n'
        '[[devices]]\nid = "nokind"\n'
    )
    assert problems(text) == [
        "g.toml:devices.1.report_period_s: Input should be greater than 0 (line 9)",
        "g.toml:devices.2.kind: unknown device kind 'toaster' "
        "(allowed: bin, care_point, entry, gateway, locker_bank, node_bin, node_care, "
        "node_water, water_station) (line 11)",
        "g.toml:devices.3.kind: missing; every device needs a kind (line 13)",
    ]


def test_duplicate_ids_missing_keys_and_bad_values() -> None:
    text = (
        'gateway_id = "gw/1"\nhardware = "fpga"\n'
        '[[devices]]\nkind = "gateway"\nid = "a"\n[[devices]]\nkind = "gateway"\nid = "a"\n'
        '[[commands.operators]]\nname = "x"\npublic_key = "abc"\n'
    )
    found = problems(text)
    assert "g.toml:devices.1.id: duplicate device id 'a'; ids must be unique (line 8)" in found
    assert "g.toml:site: missing; this key is required" in found
    assert any(p.startswith("g.toml:gateway_id: String should match pattern") for p in found)
    assert "g.toml:hardware: Input should be 'auto', 'gpio' or 'simulated' (line 2)" in found
    assert any(
        p.startswith("g.toml:commands.operators.0.public_key: Value error, not base64")
        for p in found
    )


def test_toml_syntax_errors_give_the_line() -> None:
    assert problems(MINIMAL + "[mqtt\n")[0].endswith("(line 3)")


def test_unreadable_file() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config("/nonexistent/g.toml")


EXAMPLE_TEXT = (Path(__file__).resolve().parents[2] / "config" / "gateway.example.toml").read_text()
EXAMPLE_LINES = EXAMPLE_TEXT.splitlines()


@settings(max_examples=2000, deadline=None)
@given(
    line=st.integers(0, len(EXAMPLE_LINES) - 1),
    replacement=st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "x = 1",
                "port = -1",
                "[devices]",
                'kind = "toaster"',
                'id = "a/b"',
                "report_period_s = 0",
                "lock = 99",
                "[[devices]]",
                "= 3",
                'size = "XL"',
            ]
        ),
    ),
)
def test_any_broken_line_is_refused_with_a_located_problem_or_accepted(
    line: int, replacement: str
) -> None:
    """A configuration with any one line replaced either loads, or raises ConfigError whose
    every problem names the file (never another exception)."""
    lines = list(EXAMPLE_LINES)
    lines[line] = replacement
    problems: list[str] = []
    try:
        parse_config("\n".join(lines), "g.toml")
    except ConfigError as error:
        problems = [str(p) for p in error.problems] or ["(a ConfigError without problems)"]
    assert all(p.startswith("g.toml") for p in problems)


def test_the_console_is_not_served_in_plain_http_to_the_network() -> None:
    head = 'site = "s"\ngateway_id = "g"\n\n[web]\nenabled = true\n'
    with pytest.raises(ConfigError) as refused:
        parse_config(head + 'host = "0.0.0.0"\n', "g.toml")
    problem = str(refused.value.problems[0])
    assert "web" in problem and "plain HTTP" in problem and "tls_cert" in problem
    assert "insecure_http = true" in problem and "(line 4)" in problem
    for fix in ('host = "127.0.0.1"', 'host = "0.0.0.0"\nbehind_tls_proxy = true',
                'host = "0.0.0.0"\ninsecure_http = true'):  # fmt: skip
        assert parse_config(head + fix + "\n", "g.toml").web.enabled


def test_mqtt_is_tls_unless_plaintext_is_chosen_and_never_a_password_in_clear() -> None:
    head = 'site = "s"\ngateway_id = "g"\n[mqtt]\nhost = "mqtt.example.net"\n'
    default = parse_config(head, "g.toml").mqtt
    assert default.tls is not None and default.tls.ca_file is None and default.port == 8883
    plain = parse_config(head + "insecure_plaintext = true\n", "g.toml")
    assert plain.mqtt.tls is None and plain.mqtt.port == 1883
    assert plain.warnings()[0].startswith("mqtt.insecure_plaintext: messages to mqtt.example.net")
    with pytest.raises(ConfigError) as refused:
        parse_config(head + 'insecure_plaintext = true\npassword = "pw"\n', "g.toml")
    assert "a password is never sent in clear to mqtt.example.net" in str(refused.value.problems[0])
    local = 'site = "s"\ngateway_id = "g"\n[mqtt]\nhost = "127.0.0.1"\n'
    assert parse_config(local + 'insecure_plaintext = true\npassword = "pw"\n', "g.toml")
    with pytest.raises(ConfigError, match="choose one"):
        parse_config(
            head + 'insecure_plaintext = true\n[mqtt.tls]\nca_file = "/ca.pem"\n', "g.toml"
        )


def test_a_gpio_line_wired_to_two_devices_is_refused_with_its_line() -> None:
    text = (
        'site = "s"\ngateway_id = "g"\n\n[[devices]]\nkind = "water_station"\nid = "w"\n'
        'flow_pin = 23\nleak_pin = 24\nvalve_pin = 25\n\n[[devices]]\nkind = "entry"\n'
        'id = "gate"\ncamera = "0"\nstrike_pin = 17\ndoor_pin = 24\n'
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "shared.toml")
    assert "devices.1.door_pin: GPIO24 is already w.leak_pin: give each device its own line" in (
        str(refused.value)
    )
    assert "(line 16)" in str(refused.value)

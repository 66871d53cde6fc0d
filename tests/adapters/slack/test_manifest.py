"""The manifest asks for exactly what the adapter uses: scopes, events, commands, interactivity."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import yaml
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.scopes import (
    COMMAND_SCOPES,
    EVENT_SCOPES,
    WEB_API_SCOPES,
    required_bot_scopes,
)

ADAPTER = Path(__file__).resolve().parents[3] / "adapters" / "slack"


def _manifest() -> dict:
    return yaml.safe_load((ADAPTER / "manifest.yml").read_text(encoding="utf-8"))


def _web_api_methods_called() -> set[str]:
    """Every AsyncWebClient method the adapter's source calls (found by walking its AST)."""
    client_methods = {
        name
        for name, member in inspect.getmembers(AsyncWebClient, inspect.isfunction)
        if not name.startswith("_")
    }
    called: set[str] = set()
    for path in ADAPTER.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in client_methods
            ):
                called.add(node.func.attr)
    return called


def test_adapter_calls_exactly_the_methods_in_the_scope_table() -> None:
    """Every Web API call in the adapter is in the scope table, and the table has no extras."""
    assert _web_api_methods_called() == set(WEB_API_SCOPES)


def test_manifest_bot_scopes_are_the_union_of_the_tables() -> None:
    """The manifest asks for exactly the bot scopes the tables justify (least privilege)."""
    scopes = _manifest()["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user-token scopes at all
    assert sorted(scopes["bot"]) == sorted(required_bot_scopes())
    assert len(scopes["bot"]) == len(set(scopes["bot"]))


def test_manifest_events_commands_and_interactivity_match_the_adapter() -> None:
    """Subscribed events and slash commands are the ones the adapter listens to."""
    manifest = _manifest()
    settings = manifest["settings"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == sorted(EVENT_SCOPES)
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == list(COMMAND_SCOPES)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert home["messages_tab_read_only_enabled"] is False  # students type notes in the DM


def test_slash_command_usage_lists_the_subcommands() -> None:
    """The /mentor usage hint names the subcommands the issue asks for."""
    [command] = _manifest()["features"]["slash_commands"]
    for sub in (
        "checkin",
        "mood",
        "goal",
        "resources",
        "help",
        "pause",
        "mentees",
        "alerts",
        "mydata",
    ):
        assert sub in command["usage_hint"]

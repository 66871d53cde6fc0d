"""The floor for `bench answers`: a minimal app on the same framework that only acknowledges.

    python -m bench.floor slack --port PORT --secret SECRET --api URL --token TOKEN
    python -m bench.floor discord --api URL --gateway URL --token TOKEN

* Slack: a bolt `AsyncApp` in HTTP mode (bolt's own aiohttp server) whose only listener acks
  every button press: signature check, parsing, the ack. No database, no Web API call.
* Discord: a discord.py client that answers every interaction with a deferred update (type
  6), the cheapest answer Discord accepts. No database, no message edit.

The answers benchmark runs it in its own process in the same run, sends it the same presses
and divides the bot's CPU per answer by the floor's (`cpu_ratio_to_floor`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
from typing import Any

BENCHMARK = False  # a helper process, not a benchmark of its own


def run_slack(port: int, secret: str, api: str, token: str) -> None:
    """Serve /slack/events on 127.0.0.1:port with a bolt app that only acks presses.

    Bolt checks its token once (auth.test, at the first request): against the loopback fake.
    """
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    app = AsyncApp(
        signing_secret=secret,
        client=AsyncWebClient(token=token, base_url=api),
        process_before_response=True,
    )

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.action(re.compile(".*"))(only_ack)

    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    async def events(request: web.Request) -> web.StreamResponse:
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def health(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", health)
    web.run_app(web_app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_discord(api: str, gateway: str, token: str) -> None:
    """Connect a discord.py client that answers every interaction with a deferred update."""
    import discord
    import yarl

    discord.http.Route.BASE = api.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)

    class Floor(discord.Client):
        async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
            await interaction.response.defer()

    client = Floor(
        intents=discord.Intents(guilds=True),
        max_messages=None,
        member_cache_flags=discord.MemberCacheFlags.none(),
        chunk_guilds_at_startup=False,
        guild_ready_timeout=0.05,
    )
    asyncio.run(client.start(token))


def main(argv: list[str] | None = None) -> None:
    """Run the floor app named on the command line until killed."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("platform", choices=("slack", "discord"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default="")
    parser.add_argument("--api", default="")
    parser.add_argument("--gateway", default="")
    parser.add_argument("--token", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.platform == "slack":
        run_slack(args.port, args.secret, args.api, args.token)
    else:
        run_discord(args.api, args.gateway, args.token)


if __name__ == "__main__":
    main()

"""A signed JSON webhook for urgent alerts, for a paging or on-call system."""

from adapters.webhook.messenger import PLATFORM, SIGNATURE_HEADER, WebhookMessenger, signature

__all__ = ["PLATFORM", "SIGNATURE_HEADER", "WebhookMessenger", "signature"]

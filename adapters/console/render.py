"""Core messages as terminal text: buttons become numbered choices."""

from __future__ import annotations

from bot.model import Choice, Message


def render_message(message: Message, first_number: int = 1) -> tuple[str, list[Choice]]:
    """The message as text, plus the choices in the order they are numbered."""
    lines: list[str] = []
    if message.title:
        lines.append(f"== {message.title} ==")
    if message.text:
        lines.append(message.text)
    for field in message.fields:
        lines.append(f"  {field.label}: {field.value}")
    for link in message.links:
        extra = f" ({link.description})" if link.description else ""
        lines.append(f"  • {link.title}: {link.url}{extra}")
    if message.attachment is not None:
        lines.append(f"  [file {message.attachment.filename}]")
        lines.append(message.attachment.content)
    choices = list(message.choices)
    for offset, choice in enumerate(choices):
        lines.append(f"  [{first_number + offset}] {choice.label}")
    return "\n".join(lines), choices

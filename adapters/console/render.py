"""Core messages as terminal text: buttons become numbered choices."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from bot.i18n import _, speaking
from bot.model import Attachment, Choice, Message

# Where the console puts the files a message carries (a chart, an invite): a terminal can't
# show a PNG, so it gets a path to open instead.
FILES_DIR = Path(tempfile.gettempdir()) / "mentorbot-files"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def save_attachment(attachment: Attachment, directory: Path = FILES_DIR) -> Path:
    """Write the attachment's bytes under `directory` and return the path (name made safe)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = _UNSAFE.sub("_", attachment.filename).strip("._") or "file"
    path = directory / name
    path.write_bytes(attachment.data)
    return path


def render_message(
    message: Message, first_number: int = 1, files_dir: Path = FILES_DIR
) -> tuple[str, list[Choice]]:
    """The message as text, plus the choices in the order they are numbered.

    A file is saved under `files_dir` and shown as its path with its alt text; a JSON file
    (a data export) is also printed, since it is meant to be read. The console's own words
    are in the message's language.
    """
    with speaking(message.language):
        return _render(message, first_number, files_dir)


def _render(message: Message, first_number: int, files_dir: Path) -> tuple[str, list[Choice]]:
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
    attachment = message.attachment
    if attachment is not None:
        path = save_attachment(attachment, files_dir)
        lines.append(
            "  " + _("[file {filename}: {path}]").format(filename=attachment.filename, path=path)
        )
        if attachment.alt_text:
            lines.append(f"  ({attachment.alt_text})")
        if isinstance(attachment.content, str) and attachment.mime_type == "application/json":
            lines.append(attachment.content)
    choices = list(message.choices)
    for offset, choice in enumerate(choices):
        lines.append(f"  [{first_number + offset}] {choice.label}")
    return "\n".join(lines), choices

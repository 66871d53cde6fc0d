"""deploy/mentorbot.service passes `systemd-analyze verify` and is hardened."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import ROOT, need_tool

UNIT = ROOT / "deploy" / "mentorbot.service"
INSTALLED = "/opt/mentorbot/bin/mentorbot"


def unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this venv's `mentorbot` (verify checks it exists)."""
    mentorbot = Path(sys.executable).with_name("mentorbot")
    assert mentorbot.exists()
    text = UNIT.read_text(encoding="utf-8")
    assert f"ExecStart={INSTALLED} run" in text
    copy = tmp_path / "mentorbot.service"
    copy.write_text(text.replace(INSTALLED, str(mentorbot)), encoding="utf-8")
    return copy


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    need_tool(shutil.which("systemd-analyze") is not None, "systemd-analyze (Debian: systemd)")
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """No error and no warning: verify prints bad values as warnings and still exits 0."""
    result = analyze("verify", str(unit_for_this_machine(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_a_broken_unit_is_caught(tmp_path: Path) -> None:
    """The check above can fail: a misspelt hardening value is reported."""
    unit = unit_for_this_machine(tmp_path)
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=strct"))
    assert "strct" in analyze("verify", str(unit)).stderr


def test_unit_is_hardened_and_scores_ok(tmp_path: Path) -> None:
    """The hardening options are set, and the exposure score stays under 2.5 ("OK")."""
    text = UNIT.read_text(encoding="utf-8")
    for option in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/mentorbot",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "User=mentorbot",
        "KillSignal=SIGTERM",
        "CapabilityBoundingSet=\n",
    ):
        assert option in text, option
    result = analyze(
        "security", "--offline=true", "--threshold=25", str(unit_for_this_machine(tmp_path))
    )
    assert result.returncode == 0, result.stdout[-2000:]

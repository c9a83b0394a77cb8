"""The README's walkthrough, followed literally: own event and basket, to a report.

The files are the README's code blocks marked ``<!-- file: PATH -->``; the command is the
block marked ``<!-- run -->``, run through the CLI in a temporary working folder.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from research import cli, config

README = config.REPO_ROOT / "README.md"
BLOCK = re.compile(r"<!-- (file: (?P<path>\S+)|run) -->\n```\w*\n(?P<body>.*?)```", re.S)


def marked_blocks() -> tuple[dict[str, str], list[str]]:
    files, commands = {}, []
    for match in BLOCK.finditer(README.read_text(encoding="utf-8")):
        if match["path"]:
            files[match["path"]] = match["body"]
        else:
            commands += [line for line in match["body"].splitlines() if line.strip()]
    return files, commands


def test_readme_marks_the_walkthrough() -> None:
    files, commands = marked_blocks()
    assert set(files) == {"my_events/graphite.yaml", "my_reports.toml"}
    assert commands and all(c.startswith(".venv/bin/research ") for c in commands)


@pytest.mark.slow
def test_own_event_and_basket_to_a_report(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    files, commands = marked_blocks()
    for relative, body in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(config.REPO_ROOT / "notebooks"))
    for command in commands:
        result = CliRunner().invoke(cli.app, shlex.split(command)[1:])
        assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "my_reports" / "ban_impact_my_graphite" /
                           "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "succeeded"
    assert manifest["parameters"]["event_id"] == "U_GRAPHITE_ANN"
    headline = json.loads((tmp_path / "my_reports" / "ban_impact_my_graphite" /
                           "headline.json").read_text(encoding="utf-8"))
    assert headline["event_id"] == "U_GRAPHITE_ANN" and headline["basket"] == "natural_graphite"
    index = (tmp_path / "my_reports" / "index.html").read_text(encoding="utf-8")
    assert "ban_impact_my_graphite" in index and "U_GRAPHITE_ANN" in index

"""The command line's surface: every subcommand's help, and one line for a wrong command line.

Nothing runs here: ``--help`` and usage errors are answered before any work starts.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.cli import app, main

ROOT = Path(__file__).resolve().parents[2]
SUBCOMMANDS = ["run", "update", "backfill", "trace", "summary", "ui", "docs", "dashboard", "screenshot", "bench"]


def _names() -> list[str]:
    import typer

    return sorted(name for name, cmd in typer.main.get_command(app).commands.items() if not cmd.hidden)


def test_the_command_line_has_the_subcommands_an_engineer_needs():
    assert _names() == sorted(SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_subcommand_has_its_own_help_with_examples(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Usage: dcw {command} ")
    assert "Examples:" in text and f"dcw {command}" in text.split("Examples:")[1]
    assert "`" not in text  # plain text, no markup


def test_the_top_level_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    listed = [line.split()[0] for line in text.split("Commands:")[1].splitlines() if line.strip()]
    assert sorted(listed) == sorted(SUBCOMMANDS)


@pytest.mark.parametrize(("argv", "what"), [
    (["backfill"], "type dcw backfill --from 2024-01"),
    (["backfill", "--to", "2024-03"], "type dcw backfill --from 2024-01"),
    (["rn"], "No such command 'rn'"),
    (["run", "--frob"], "No such option: --frob"),
    (["trace"], "Missing argument 'TABLE'"),
])
def test_a_wrong_command_line_gets_one_line_saying_what_to_type(argv, what, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and what in lines[0], err


def test_the_dcw_script_and_the_module_are_the_same_command():
    dcw = Path(sys.executable).with_name("dcw")
    assert dcw.exists() or shutil.which("dcw"), "the console script dcw is not installed (make setup)"
    for command in ([str(dcw)] if dcw.exists() else ["dcw"], [sys.executable, "-m", "orchestration.cli"]):
        done = subprocess.run([*command, "backfill"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--from" in done.stderr, done.stderr

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


def _documented_command_lines() -> list[tuple[str, str]]:
    """(page, command line) for every ``dcw …`` and ``make …`` line in a code block of the README and docs/."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in page.read_text(encoding="utf-8").split("```")[1::2]:
            for line in block.splitlines():
                words = line.split("#")[0].split()
                while words and "=" in words[0] and not words[0].startswith("-"):
                    words = words[1:]  # environment assignments before the command
                if words and words[0] in ("dcw", "make", "$") and (words[0] != "$" or words[1:2] == ["dcw"]):
                    found.append((page.name, " ".join(words[1:] if words[0] == "$" else words)))
    return found


def test_every_command_the_docs_show_is_one_the_command_line_or_the_makefile_accepts():
    """The README's and docs' commands are the ones that exist: each ``dcw`` line parses (subcommand,
    arguments and options), each ``make`` target is in the Makefile."""
    import click
    import typer

    group = typer.main.get_command(app)
    targets = {line.split(":")[0] for line in (ROOT / "Makefile").read_text().splitlines()
               if line and not line[0].isspace() and ":" in line and "=" not in line.split(":")[0]}
    lines = _documented_command_lines()
    assert any(line.startswith("dcw trace") for _, line in lines) and any(line == "make test" for _, line in lines)
    for page, line in lines:
        words = line.split()
        if words[0] == "make":
            assert all(w in targets for w in words[1:] if "=" not in w), (page, line)
            continue
        command = group.get_command(click.Context(group), words[1])
        assert command is not None, (page, line)
        try:
            command.make_context(words[1], words[2:])  # parses and checks, runs nothing
        except click.ClickException as error:
            raise AssertionError(f"{page}: {line}: {error.format_message()}") from error

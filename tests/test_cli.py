"""Every `gbhub` subcommand (and every `gbhub train` recipe) reads the same way in `--help`."""

from __future__ import annotations

import argparse

import pytest

from gbhub.cli import build_parser, main


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _subcommands(sub, (*prefix, name))


COMMANDS_TREE = [path for path, _ in _subcommands(build_parser())]


def test_the_command_tree_is_found():
    assert {("build",), ("audit",), ("train",), ("train", "cnn"), ("push-model",)} <= set(COMMANDS_TREE)


@pytest.mark.parametrize("path", COMMANDS_TREE, ids=" ".join)
def test_every_subcommand_describes_itself_with_dashed_flags(path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    _, _, body = text.partition("\n\n")
    assert body.strip() and not body.lstrip().startswith(("options:", "positional arguments:")), "no description"
    assert "(default: False)" not in text and "(default: None)" not in text
    flags = {word.strip("[],") for word in text.split() if word.startswith(("--", "[--"))}
    assert flags and not [flag for flag in flags if "_" in flag.split("=")[0].lstrip("[")], flags


@pytest.mark.parametrize("path, flag, value", [
    (("build",), "--seed", "-1"), (("motifs",), "--seed", "-1"), (("train", "cnn"), "--seeds", "-1"),
    (("demo",), "--seeds", "x"), (("demo",), "--epochs", "0"), (("build",), "--num-proc", "0"),
])
def test_shared_flags_refuse_the_same_bad_values_before_any_work(path, flag, value, tmp_path, capsys):
    positional = {"build": ["synthetic"], "motifs": [str(tmp_path)]}.get(path[0], [])
    with pytest.raises(SystemExit) as exit_:
        main([*path, *positional, "--out", str(tmp_path / "out"), flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_command_table_names_what_each_module_registers():
    """`main` registers only the module of the command it runs: the table must say which module that is."""
    import importlib

    from gbhub.cli import COMMAND_MODULES, COMMANDS

    registered = {}
    for module in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"gbhub.commands.{module}").register(sub)
        registered.update(dict.fromkeys(sub.choices, module))
    assert registered == COMMANDS
    assert {path[0] for path in COMMANDS_TREE} == set(COMMANDS)


def test_a_command_is_parsed_by_its_module_alone(capsys):
    parser = build_parser("locate")
    assert set(parser._subparsers._group_actions[0].choices) == {"create", "locate"}
    with pytest.raises(SystemExit) as exit_:
        main(["-v", "nonsense"])  # an unknown word: every command is registered, and argparse lists them
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nonsense'" in err and all(name in err for name in ("locate", "train", "push-model"))

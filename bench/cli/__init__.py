"""`bench`: the command line. Each subcommand is a module with `add_parser` and `main`.

Command modules import only what building their parser needs; torch, pandas and the plug-ins
load inside `main`, so `bench --help` and `bench list` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import warnings

from bench import __version__
from bench.errors import UserError
from bench.places import StorageFull

COMMANDS = ("run", "status", "cancel", "table", "report", "show", "list", "data", "prepare", "fakes")


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line that names the fix, exit status 2."""

    def error(self, message: str):
        option = re.match(r"argument (--[\w-]+)(?:/[\w-]+)?: expected one argument", message)
        if option:  # `--methods -dn2`: argparse takes the value for an option
            example = "--methods=-dn2, or all,-dn2" if option[1] in ("--methods", "--datasets") else f"{option[1]}=-VALUE"
            message += f"; a value that starts with '-' must be attached with '=': {example}"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    parser = Parser(
        prog="bench",
        description="nearbench: one-class novelty-detection benchmarks, from sweep to leaderboard.",
        epilog="Start with `bench run` (every method on the embedded digits benchmark), then `bench table`.",
    )
    parser.add_argument("--version", action="version", version=f"nearbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"bench.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = [*(sys.argv[1:] if argv is None else argv)]  # recorded with a SLURM sweep (`list` is a command here)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return args.func(args)
    except UserError as error:
        print(f"bench {args.command}: error: {error}", file=sys.stderr)
        return 2
    except StorageFull as error:
        print(f"bench {args.command}: error: {error}: free space there (or point --results or $BENCH_CACHE "
              "elsewhere, or use --no-cache) and run the same command again; finished records are intact",
              file=sys.stderr)
        return 1
    except BrokenPipeError:  # `bench table | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except KeyboardInterrupt:
        print(f"bench {args.command}: interrupted; finished cells keep their records", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a deprecated name, a library's notice) as one line on stderr."""
    print(f"bench: warning: {message}", file=sys.stderr)

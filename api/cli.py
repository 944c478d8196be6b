"""The ``ivus-coder`` command line.

``ivus-coder code INPUT...`` codes .txt files, folders of .txt files, .jsonl files of
{"id", "text"} lines, .csv files with id and text columns, or stdin (``-``), and writes one result
per document in input order (the JSON result contract of DESIGN.md). ``ivus-coder explain FILE``
shows a note with its evidence highlighted and the proposed lines under it.

Exit codes: 0 all documents coded; 1 one or more documents failed (each has an error record);
2 a usage error (bad option, unknown input type).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

from rules_core import load_policies
from rules_core.errors import IvusCoderError

EXIT_OK, EXIT_DOCUMENT_ERRORS, EXIT_USAGE = 0, 1, 2


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    policies = load_policies()
    parser.add_argument(
        "--policy",
        choices=sorted(policies.policies),
        default=policies.default,
        help="vessel-grouping policy (RULEBOOK 3.1): 'sir' groups EIA+CFA, SFA+popliteal, "
        "EIV+CFV and FV+popliteal; 'named-vessel' counts every named vessel (default: %(default)s)",
    )
    parser.add_argument(
        "--documentation",
        choices=("flag", "strict"),
        default=None,
        help="a vessel without an IVUS finding: 'flag' counts it and flags no-ivus-finding, "
        "'strict' does not count it (default: flag)",
    )
    parser.add_argument(
        "--mue-37253",
        type=int,
        default=None,
        metavar="N",
        help="Medically Unlikely Edit for 37253; more units are emitted and flagged (default: 5)",
    )


def _add_linker_option(parser: argparse.ArgumentParser, lead: str = "") -> None:
    """``--linker``; ``lead`` starts its help (what the option means for that command)."""
    from nlp.pipeline import DEFAULT_LINKER, LINKERS

    parser.add_argument(
        "--linker",
        choices=LINKERS,
        default=DEFAULT_LINKER,
        help=lead
        + "who decides which vessels each IVUS mention examined: 'rules' (the rule linker), "
        "'model' (the learned linker alone) or 'hybrid' (the learned linker reading the rules' "
        "decisions); see models/CARD.md (default: %(default)s)",
    )


def _coder(args: argparse.Namespace) -> Any:
    """A :class:`api.coding.Coder` whose pipeline uses the ``--linker`` chosen."""
    from .coding import Coder

    return Coder.with_linker(args.linker)


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--id-column", default="id", help="id field of JSONL/CSV input (default: id)"
    )
    parser.add_argument(
        "--text-column", default="text", help="text field of JSONL/CSV input (default: text)"
    )
    parser.add_argument(
        "--stdin-format",
        choices=("text", "jsonl"),
        default="text",
        help="what '-' reads: one plain-text note, or JSON lines (default: text)",
    )
    parser.add_argument(
        "--unique",
        action="store_true",
        help="skip JSONL/CSV rows whose id was seen before (mtsamples repeats reports)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivus-coder",
        description="Find the noncoronary IVUS documented in procedure notes and propose CPT "
        "+37252/+37253, every unit backed by evidence spans in the note.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    code = sub.add_parser(
        "code",
        help="code notes and print one result per document",
        description='Code notes: .txt files, folders of .txt files, .jsonl ({"id", "text"} '
        "per line), .csv (id and text columns) or '-' for stdin. One result per document, in "
        "input order; unreadable documents get an error record and the batch goes on.",
    )
    code.add_argument("inputs", nargs="+", metavar="INPUT")
    code.add_argument(
        "--format",
        choices=("json", "jsonl", "csv"),
        default="json",
        help="output format (default: json)",
    )
    code.add_argument("--out", default=None, metavar="PATH", help="write here instead of stdout")
    code.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes, one pipeline each (default: 1)",
    )
    code.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    _add_policy_options(code)
    _add_linker_option(code)
    _add_input_options(code)
    code.set_defaults(handler=run_code)

    explain = sub.add_parser(
        "explain",
        help="show a note with its evidence highlighted and the proposed lines",
        description="Print the note with IVUS, vessel, extent, finding, pathology, procedure "
        "and non-IVUS modality spans highlighted, then the proposed lines, the vessels with their "
        "evidence, the exclusions and the review flags.",
    )
    explain.add_argument("file", metavar="FILE", help="a plain-text note ('-' for stdin)")
    _add_policy_options(explain)
    _add_linker_option(explain)
    explain.set_defaults(handler=run_explain)

    for name, (helptext, register) in _EXTRA_COMMANDS.items():
        register(sub.add_parser(name, help=helptext))
    return parser


# Commands added by other modules (evaluate, serve, corpus, train-linker) register here.
_EXTRA_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {}


def register_command(name: str, helptext: str) -> Callable:
    """Decorator: ``register(parser)`` adds a subcommand's arguments and handler."""

    def wrap(register: Callable[[argparse.ArgumentParser], None]) -> Callable:
        _EXTRA_COMMANDS[name] = (helptext, register)
        return register

    return wrap


def _settings(args: argparse.Namespace) -> Any:
    return load_policies().settings(args.documentation, args.mue_37253)


def run_code(args: argparse.Namespace) -> int:
    from .batch import code_batch
    from .inputs import iter_documents
    from .outputs import write_results

    if args.workers < 1:
        raise SystemExit("ivus-coder: error: --workers must be at least 1")
    settings = _settings(args)
    documents = iter_documents(
        args.inputs,
        id_field=args.id_column,
        text_field=args.text_column,
        stdin_format=args.stdin_format,
        unique=args.unique,
    )
    results: Iterator[dict[str, Any]] = code_batch(
        documents,
        policy=args.policy,
        settings=settings,
        workers=args.workers,
        coder=_coder(args) if args.workers <= 1 else None,
        linker=args.linker,
    )
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        results = iter(tqdm(results, desc="coding", unit="doc", file=sys.stderr))
    single = len(args.inputs) == 1 and args.inputs[0].lower().endswith(".txt")
    with ExitStack() as stack:
        out = (
            stack.enter_context(open(args.out, "w", encoding="utf-8", newline=""))
            if args.out
            else sys.stdout
        )
        errors = write_results(results, args.format, out, single)
    if errors:
        print(
            f"ivus-coder: {errors} document(s) could not be coded (see their error records)",
            file=sys.stderr,
        )
        return EXIT_DOCUMENT_ERRORS
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    from .explain import render_explanation
    from .inputs import iter_documents

    document = next(iter_documents([args.file]))
    if document.error is not None:
        raise document.error
    coder = _coder(args)
    coded = coder.code_facts(
        document.text or "", document_id=document.id, policy=args.policy, settings=_settings(args)
    )
    render_explanation(document.text or "", coded.facts, coded.result)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    _load_extra_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except IvusCoderError as exc:
        print(f"ivus-coder: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _load_extra_commands() -> None:
    """Import the modules that register further subcommands, when they are installed."""
    import importlib

    for module in ("api.evaluate_cli", "api.corpus_cli", "api.serve_cli", "api.train_cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


if __name__ == "__main__":
    sys.exit(main())

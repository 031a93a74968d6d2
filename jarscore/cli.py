"""The `jarscore` command: `convert` a model into an artifact, `score` rows (CSV, Parquet, stdin)
with an artifact, `publish`, `label`, `rollback`, `retire` and `promote` versions in a model
repository, `keygen` and `sign` for signed artifacts, `serve` a repository over REST and gRPC,
`bench` the scoring engines side by side."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Iterator

from jarscore.errors import JarscoreError, OutputClosed

_CONVERT_HELP = """\
Converts MODEL into the artifact folder --out, or ROOT/NAME/VERSION with --repository ROOT
(model.pmml.gz, model.jar, manifest.json; the folder appears complete or not at all).

MODEL is a .pmml (or .pmml.gz) file, a LightGBM text model, an XGBoost .json/.ubj model, or a joblib/pickle
file (.pkl, .joblib) holding a fitted scikit-learn estimator or Pipeline, an LGBM/XGB
scikit-learn wrapper or a PMMLPipeline.

WARNING: loading a pickle or joblib file runs whatever code it contains. Only convert pickles you
trust; for untrusted models use the LightGBM text, XGBoost JSON/UBJ or PMML formats, which are
read as data only.
"""


_SCORE_HELP = """\
Scores every row of --input with the artifact MODEL into --output: every result field per row.

Each is a CSV file (with a header row naming the input fields), a Parquet file (.parquet or .pq;
needs pyarrow: pip install 'jarscore[parquet]'), or - for CSV on stdin or stdout. The rows are
read, scored and written --chunk-rows at a time, so memory stays flat whatever the input's size.
The output is written to a temporary file beside it and renamed at the end: a failed run leaves
no output. Messages and progress go to stderr only.
"""


def _convert(args: argparse.Namespace) -> int:
    from jarscore._progress import Heartbeat
    from jarscore.converter import convert

    out = args.out
    if args.repository:
        out = Path(args.repository) / (args.name or Path(args.model).stem) / str(args.version or 1)
    heartbeat = Heartbeat(logging.getLogger("jarscore.converter").info, args.progress)
    try:
        scorer = convert(args.model, out, sample=args.sample, name=args.name, version=args.version,
                         force=args.force, keep_sources=args.keep_sources, sign_key=args.sign,
                         transpiled_classes=args.transpiled_classes, log=heartbeat.line)
    finally:
        heartbeat.close()
    print(f"wrote {out}: {scorer.name} version {scorer.version}, inputs {scorer.input_fields}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from jarscore._progress import RowProgress
    from jarscore.scorer.cli import DEFAULT_CHUNK_ROWS, input_rows, score_csv

    started = time.monotonic()
    progress = RowProgress(args.progress, total=input_rows(args.input))
    try:
        rows = score_csv(Path(args.model), args.input, args.output, chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS,
                         progress=progress, trusted_keys=args.trusted_key)
    finally:
        progress.close()
    where = "stdout" if args.output == "-" else args.output
    logging.getLogger("jarscore.cli").info("scored %s rows into %s in %.1f s (%s rows/s after loading the model)",
                                           f"{rows:,}", where, time.monotonic() - started, f"{progress.rate():,.0f}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from jarscore.delivery import publish

    target = publish(args.artifact, args.repository, name=args.name, version=args.version, sign_key=args.sign)
    print(f"published {target} ({target.parent.name} version {target.name})")
    return 0


def _label(args: argparse.Namespace) -> int:
    from jarscore.delivery import set_labels
    from jarscore.errors import RepositoryError

    assignments = {}
    for word in args.assignments:
        label, _, version = word.partition("=")
        if not label or not version.isdigit():
            raise RepositoryError(f"'{word}' is not LABEL=VERSION (e.g. stable=4)")
        assignments[label] = int(version)
    if not assignments and not args.remove:
        raise RepositoryError("nothing to do: give LABEL=VERSION pairs or --remove LABEL")
    labels = set_labels(args.root, args.name, assignments, remove=args.remove)
    named = ", ".join(f"{k}={v}" for k, v in sorted(labels.labels.items())) or "none"
    print(f"{args.name} labels: {named}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from jarscore.delivery import rollback

    before, after = rollback(args.root, args.name, args.label)
    print(f"{args.name}: '{args.label}' rolled back from version {before} to {after}")
    return 0


def _retire(args: argparse.Namespace) -> int:
    from jarscore.delivery import retire

    removed = retire(args.root, args.name, args.keep)
    print(f"{args.name}: retired versions {', '.join(map(str, removed))}" if removed
          else f"{args.name}: nothing to retire")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from jarscore.delivery import promote

    promotion = promote(args.root, args.name, holdout=args.holdout, metric=args.metric, candidate=args.candidate,
                        max_regression=args.max_regression, target=args.target, label=args.label)
    print(promotion.describe())
    return 0 if promotion.promoted else PROMOTE_REFUSED


#: ``jarscore promote``'s exit status when the gate keeps the stable version (errors exit 1).
PROMOTE_REFUSED = 3


def _keygen(args: argparse.Namespace) -> int:
    from jarscore.scorer.signing import generate_key_pair

    private_path, public_path, key_id = generate_key_pair(Path(args.out), args.name)
    print(f"wrote {private_path} (private: keep it secret, mode 0600) and {public_path} (public: give it to "
          f"the loaders as a trusted key); key id {key_id}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from jarscore.scorer.signing import sign_artifact

    entry = sign_artifact(Path(args.artifact), Path(args.key))
    print(f"signed {args.artifact} with key {entry['key_id']}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    # The suite lives in the checkout, beside the package: a console script does not have the
    # current folder on sys.path, so 'jarscore bench' in the checkout's folder adds it.
    if (Path.cwd() / "benchmarks" / "run.py").is_file() and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        from benchmarks.run import main as bench_main
    except ModuleNotFoundError as exc:
        if exc.name != "benchmarks" and not (exc.name or "").startswith("benchmarks."):
            raise
        print("jarscore bench: error: the benchmark suite is not part of the installed package; run it from a "
              "jarscore checkout ('make bench', or 'jarscore bench' in the checkout's folder)", file=sys.stderr)
        return 2
    return bench_main(args.bench_args)


def _version() -> str:
    from jarscore import __version__
    from jarscore.scorer import jvm

    try:
        runtime = f"JVM runtime {jvm.runtime_version()} ({jvm.runtime_dir()})"
    except JarscoreError as exc:
        runtime = f"JVM runtime missing: {exc}"
    return f"jarscore {__version__}\n{runtime}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jarscore", description=__doc__)
    parser.add_argument("--version", action="store_true",
                        help="print jarscore's version and its bundled JVM runtime's, then exit")
    parser.add_argument("--debug", action="store_true",
                        help="on failure, print the Python traceback above the one-line error")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="print errors only on stderr (no progress, no log lines)")
    loudness.add_argument("-v", "--verbose", action="store_true",
                          help="debug log lines, and progress on stderr even when it is not a terminal")
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser("convert", help="model -> verified artifact", description=_CONVERT_HELP,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    convert.add_argument("model", help="model file (see above)")
    where = convert.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="artifact folder to write (must not exist unless --force)")
    where.add_argument("--repository", metavar="ROOT",
                       help="write into a model repository, as ROOT/NAME/VERSION (served by jarscore.ModelRegistry)")
    convert.add_argument("--name", help="model name (default: the model file's stem)")
    convert.add_argument("--version", help="positive integer version (default 1)")
    convert.add_argument("--sample", help="CSV of rows (not training rows) for the parity check")
    convert.add_argument("--force", action="store_true", help="replace --out if it exists")
    convert.add_argument("--keep-sources", action="store_true",
                         help="keep the generated Java sources in OUT/sources for debugging")
    convert.add_argument("--transpiled-classes", action="store_true",
                         help="also put JPMML-Transpiler's classes in model.jar for the rows the kernel leaves "
                         "to JPMML (default: the kernel alone, those rows interpreted from model.pmml.gz)")
    convert.add_argument("--sign", metavar="KEY", help="sign the artifact with this Ed25519 private key "
                         "(from 'jarscore keygen'): writes signature.json")
    convert.set_defaults(run=_convert)

    score = commands.add_parser("score", help="score rows (CSV, Parquet, stdin) with an artifact",
                                description=_SCORE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    score.add_argument("model", help="artifact folder, model.jar, .pmml or .pmml.gz file")
    score.add_argument("--input", required=True, help="CSV or Parquet file, or - for CSV on stdin")
    score.add_argument("--output", required=True, help="CSV or Parquet file to write, or - for CSV on stdout")
    score.add_argument("--chunk-rows", type=_positive, default=None, metavar="N",
                       help="rows read, scored and written at a time (default: 100 000)")
    score.add_argument("--trusted-key", metavar="PUB", action="append",
                       help="load the artifact only if this public key signed it (repeatable; default: "
                            "the files in $JARSCORE_TRUSTED_KEYS)")
    score.set_defaults(run=_score)

    publish = commands.add_parser("publish", help="put an artifact into a model repository, verified, atomically")
    publish.add_argument("artifact", help="artifact folder (written by 'jarscore convert')")
    publish.add_argument("--repository", metavar="ROOT", required=True, help="the model repository")
    publish.add_argument("--name", help="model name (default: the manifest's)")
    publish.add_argument("--version", default="auto",
                         help="'auto' (default: the next free version, taken under a lock) or a positive integer")
    publish.add_argument("--sign", metavar="KEY", help="sign the published manifest with this Ed25519 private key "
                         "(needed for a signed artifact published under another name or version)")
    publish.set_defaults(run=_publish)

    label = commands.add_parser("label", help="point labels at versions: jarscore label ROOT NAME stable=4 canary=5")
    label.add_argument("root", metavar="ROOT")
    label.add_argument("name", metavar="NAME")
    label.add_argument("assignments", nargs="*", metavar="LABEL=VERSION")
    label.add_argument("--remove", action="append", default=[], metavar="LABEL", help="remove a label (repeatable)")
    label.set_defaults(run=_label)

    rollback = commands.add_parser("rollback", help="move a label back to the version it named before")
    rollback.add_argument("root", metavar="ROOT")
    rollback.add_argument("name", metavar="NAME")
    rollback.add_argument("--label", default="stable", help="the label to roll back (default stable)")
    rollback.set_defaults(run=_rollback)

    retire = commands.add_parser("retire", help="remove old versions, never a labelled one")
    retire.add_argument("root", metavar="ROOT")
    retire.add_argument("name", metavar="NAME")
    retire.add_argument("--keep", type=int, required=True, help="how many of the highest versions to keep")
    retire.set_defaults(run=_retire)

    promote = commands.add_parser(
        "promote", help="compare a candidate with stable on hold-out rows; move stable if not worse",
        description="Scores the hold-out rows with the stable version and the candidate, prints both metrics and "
                    "their agreement, and moves the label to the candidate only if it is not worse by more than "
                    f"--max-regression. Exit status: 0 promoted, {PROMOTE_REFUSED} not promoted, 1 error.")
    promote.add_argument("root", metavar="ROOT")
    promote.add_argument("name", metavar="NAME")
    promote.add_argument("--candidate", default="canary", help="a label or a version (default canary)")
    promote.add_argument("--holdout", required=True, help="CSV or Parquet file of rows with the target column")
    promote.add_argument("--metric", required=True, choices=["roc_auc", "log_loss", "rmse"])
    promote.add_argument("--max-regression", type=float, default=0.0,
                         help="how much worse the candidate may be and still be promoted (default 0)")
    promote.add_argument("--target", help="the target column (default: the one the manifest names)")
    promote.add_argument("--label", default="stable", help="the label to move (default stable)")
    promote.set_defaults(run=_promote)
    keygen = commands.add_parser("keygen", help="make an Ed25519 key pair for signing artifacts")
    keygen.add_argument("--out", required=True, metavar="DIR", help="folder for NAME.key (mode 0600) and NAME.pub")
    keygen.add_argument("--name", default="jarscore-signing", help="file name stem (default jarscore-signing)")
    keygen.set_defaults(run=_keygen)

    sign = commands.add_parser("sign", help="sign an existing artifact (after checking its files' sha256)")
    sign.add_argument("artifact", help="artifact folder")
    sign.add_argument("--key", required=True, help="Ed25519 private key file (from 'jarscore keygen')")
    sign.set_defaults(run=_sign)

    commands.add_parser("serve", add_help=False,
                        help="serve a model repository over REST and gRPC (jarscore serve ROOT --help)")

    bench = commands.add_parser("bench", add_help=False,
                                help="latency/throughput benchmark suite (jarscore bench --help)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(run=_bench)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of rows, got {text!r}")
    return value


_GLOBAL_FLAGS = {"--debug": "debug", "-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose"}


def main(argv: list[str] | None = None) -> int:
    """Runs one command. Every failure is one line on stderr, ``jarscore COMMAND: error: MESSAGE``, and a
    non-zero exit (1; 130 for Ctrl-C); ``--debug`` adds the traceback. Log lines and progress go to
    stderr: ``--quiet`` keeps errors only, ``--verbose`` adds debug lines and progress off a terminal."""
    given = list(sys.argv[1:] if argv is None else argv)
    flags = {"debug": False, "quiet": False, "verbose": False}
    while given[:1] and given[0] in _GLOBAL_FLAGS:
        flags[_GLOBAL_FLAGS[given.pop(0)]] = True
    debug = flags["debug"]
    command = next((word for word in given if not word.startswith("-")), None) or "command"
    if flags["quiet"] and flags["verbose"]:
        return _fail(command, "--quiet and --verbose contradict each other; give one", debug, status=2)
    with logging_to_stderr(quiet=flags["quiet"], verbose=flags["verbose"]):
        return _run(given, command, debug, flags, whole_process=argv is None)


def _run(given: list[str], command: str, debug: bool, flags: dict, whole_process: bool) -> int:
    from jarscore._progress import show_progress

    try:
        if whole_process and given[:1] in (["convert"], ["score"]):
            # Only when this process is the command: the handling is process-wide (SIGINT, the JVM's
            # start options), not for a caller of main([...]) in its own process.
            _handle_ctrl_c(lambda: command, debug)
            if given[:1] == ["convert"]:
                from jarscore.scorer import jvm

                jvm.mark_short_lived()
        if given[:1] == ["--version"]:
            print(_version())
            return 0
        if given[:1] == ["bench"]:
            # bench has its own parser (benchmarks/run.py); argparse's REMAINDER would swallow no options.
            return _bench(argparse.Namespace(bench_args=given[1:]))
        if given[:1] == ["serve"]:
            # The server's options are its own (jarscore serve --help), parsed by the server.
            from jarscore.serve import serve

            return serve(given[1:])
        args = build_parser().parse_args(given)
        command = args.command
        args.quiet, args.verbose = flags["quiet"], flags["verbose"]
        args.progress = show_progress(verbose=args.verbose, quiet=args.quiet)
        return args.run(args)
    except KeyboardInterrupt:
        return _fail(command, "interrupted", debug, status=130)
    except SystemExit:
        raise
    except OutputClosed:
        return 141   # as cat does when `| head` stops reading: nothing went wrong to report
    except JarscoreError as exc:
        return _fail(command, str(exc), debug)
    except OSError as exc:
        return _fail(command, describe_os_error(exc), debug)
    except MemoryError:
        return _fail(command, "out of memory", debug)
    except Exception as exc:  # noqa: BLE001 (the last resort: one line, the traceback on request)
        hint = "" if debug else " (rerun with --debug for the traceback)"
        return _fail(command, f"unexpected {type(exc).__name__}: {exc}{hint}", debug)


#: Loggers whose INFO lines a command shows by default: what the command itself reports. The
#: library's own INFO lines (which kernel a model uses, ...) show with --verbose.
SHOWN_BY_DEFAULT = ("jarscore.cli", "jarscore.converter")


@contextlib.contextmanager
def logging_to_stderr(*, quiet: bool = False, verbose: bool = False) -> Iterator[None]:
    """While inside, the log lines of every ``jarscore.*`` logger go to stderr, each with the seconds
    since the start: warnings and errors only with ``quiet``; debug lines too with ``verbose``; else
    warnings, and the INFO lines of :data:`SHOWN_BY_DEFAULT`. On the way out the loggers are as they
    were (``main([...])`` called inside another program leaves its logging alone)."""
    from jarscore._progress import ElapsedFormatter

    root = logging.getLogger("jarscore")
    shown = [logging.getLogger(name) for name in SHOWN_BY_DEFAULT]
    before = root.level, root.propagate, [logger.level for logger in shown]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ElapsedFormatter(time.time()))
    root.addHandler(handler)
    root.propagate = False
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for logger in shown:
        logger.setLevel(logging.NOTSET if quiet or verbose else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(before[0])
        root.propagate = before[1]
        for logger, level in zip(shown, before[2]):
            logger.setLevel(level)


def _handle_ctrl_c(command, debug: bool) -> None:
    from jarscore import _interrupt

    def report() -> None:
        if debug:   # where the main thread was
            frame = sys._current_frames().get(threading.main_thread().ident)
            traceback.print_stack(frame, file=sys.stderr)
        _print_error(command(), "interrupted")

    if _interrupt.install(report):      # first: the imports below take a while
        from jarscore.scorer import jvm

        jvm.leave_sigint_to_python()


def describe_os_error(exc: OSError) -> str:
    """An OSError as 'PATH: reason' (both paths for a rename or a link), whatever raised it."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None and exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


def _fail(command: str, message: str, debug: bool, status: int = 1) -> int:
    from jarscore import _interrupt

    if _interrupt.installed() and not _interrupt.claim_report():
        return status     # the Ctrl-C watcher is reporting and ending the process
    if debug:
        traceback.print_exc()
    _print_error(command, message)
    return status


def _print_error(command: str, message: str) -> None:
    # One line, whatever the message holds (a JVM's multi-line message, a path with a newline).
    line = " | ".join(part.strip() for part in message.splitlines() if part.strip()) or message
    try:
        print(f"jarscore {command}: error: {line}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass   # stderr itself is gone (a closed pipe): the exit status still tells


if __name__ == "__main__":
    sys.exit(main())

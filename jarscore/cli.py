"""The `jarscore` command: `convert` a model into an artifact, `score` a CSV with an artifact,
`bench` the scoring engines side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jarscore.errors import JarscoreError

_CONVERT_HELP = """\
Converts MODEL into the artifact folder --out, or ROOT/NAME/VERSION with --repository ROOT
(model.pmml, model.jar, manifest.json; the folder appears complete or not at all).

MODEL is a .pmml file, a LightGBM text model, an XGBoost .json/.ubj model, or a joblib/pickle
file (.pkl, .joblib) holding a fitted scikit-learn estimator or Pipeline, an LGBM/XGB
scikit-learn wrapper or a PMMLPipeline.

WARNING: loading a pickle or joblib file runs whatever code it contains. Only convert pickles you
trust; for untrusted models use the LightGBM text, XGBoost JSON/UBJ or PMML formats, which are
read as data only.
"""


def _convert(args: argparse.Namespace) -> int:
    from jarscore.converter import convert

    out = args.out
    if args.repository:
        out = Path(args.repository) / (args.name or Path(args.model).stem) / str(args.version or 1)
    scorer = convert(args.model, out, sample=args.sample, name=args.name, version=args.version,
                     force=args.force, keep_sources=args.keep_sources,
                     log=lambda line: print(line, file=sys.stderr))
    print(f"wrote {out}: {scorer.name} version {scorer.version}, inputs {scorer.input_fields}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from jarscore.scorer.cli import score_csv

    rows = score_csv(Path(args.model), Path(args.input), Path(args.output))
    print(f"scored {rows} rows into {args.output}", file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace) -> int:
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
    convert.set_defaults(run=_convert)

    score = commands.add_parser("score", help="score a CSV with an artifact")
    score.add_argument("model", help="artifact folder, model.jar or .pmml file")
    score.add_argument("--input", required=True, help="CSV with a header row naming the input fields")
    score.add_argument("--output", required=True, help="CSV to write: every result field per row")
    score.set_defaults(run=_score)

    bench = commands.add_parser("bench", add_help=False,
                                help="latency/throughput benchmark suite (jarscore bench --help)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(run=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["--version"]:
        print(_version())
        return 0
    if given[:1] == ["bench"]:
        # bench has its own parser (benchmarks/run.py); argparse's REMAINDER would swallow no options.
        return _bench(argparse.Namespace(bench_args=given[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except JarscoreError as exc:
        print(f"jarscore {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

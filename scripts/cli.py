"""Command line: the only layer that reads the clock, the environment and argv."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from .config import Config, config_for_files, load_config
from .errors import ConfigError, HuifangError
from .i18n import LANGUAGES

DEFAULT_CONFIG = "huifang.yaml"
JOB_NAMES = ("reminders", "digest", "escalations", "monthly-report", "morning-brief", "weekly")


def parse_now(text: str | None, config: Config) -> dt.datetime:
    """``--now`` (ISO; a naive value is in the configured zone) or the clock, read once per run."""
    if text is None:
        return dt.datetime.now(config.timezone)  # the run's one clock read
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--now: {text!r} is not an ISO date-time such as 2026-11-24T09:00") from None
    return value.replace(tzinfo=config.timezone) if value.tzinfo is None else value.astimezone(config.timezone)


def resolve_config(config_path: str | None, paths: Sequence[str]) -> Config:
    """The named config, else huifang.yaml in the working folder; with paths, its settings apply to them."""
    files = [Path(p) for p in paths]
    named = Path(config_path) if config_path else Path(DEFAULT_CONFIG) if Path(DEFAULT_CONFIG).exists() else None
    if named is not None:
        config = load_config(named)
        return _narrowed(config, files) if files else config
    if files:
        return config_for_files(files)
    raise ConfigError(f"no configuration: pass --config FILE, workbook paths, or create {DEFAULT_CONFIG}")


def _narrowed(config: Config, files: list[Path]) -> Config:
    """The config applied to ``files``: a file the config lists keeps its source (tables, columns, owner)."""
    from dataclasses import replace  # noqa: PLC0415

    narrowed = config_for_files(files, config)
    listed = {s.path.resolve(): s for s in config.sources if s.path is not None}
    return replace(narrowed, sources=tuple(listed.get(s.path.resolve(), s) if s.path else s for s in narrowed.sources))


def run_language(args: argparse.Namespace, config: Config | None = None) -> str:
    """The one language of this run: --language, else the config's, else zh-CN."""
    return getattr(args, "language", None) or (config.language if config else None) or "zh-CN"


def cmd_check(args: argparse.Namespace) -> int:
    """A check makes millions of short-lived objects and no cycles worth finding: cyclic GC is off for its run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check(args)
    finally:
        if enabled:
            gc.enable()


def _check(args: argparse.Namespace) -> int:
    from .check import run_check  # noqa: PLC0415
    from .output import render_json, render_text  # noqa: PLC0415
    from .schema import load_schemas  # noqa: PLC0415

    if args.format == "xlsx" and not args.output:
        raise ConfigError("--format xlsx needs --output FILE.xlsx")
    config = resolve_config(args.config, args.paths)
    language = run_language(args, config)
    schemas = load_schemas(*config.schema_dirs)
    now = parse_now(args.now, config)
    result = run_check(config, now, schemas=schemas, jobs=args.jobs, keep_records=False)
    if args.format == "xlsx":
        from .findings_book import write_findings_workbook  # noqa: PLC0415
        from .i18n import translation  # noqa: PLC0415

        path = write_findings_workbook(result, Path(args.output), now, reader=args.reader, relative_links=True)
        print(translation(language, "cli").gettext("findings written to {path}").format(path=path))
        return result.exit_code
    hints = {}
    if any(sheet.table is None for report in result.sources for sheet in report.sheets) or any(
            f.rule == "missing_column" for f in result.findings):  # only then is there something to hint at
        from .init import sheet_hints  # noqa: PLC0415

        hints = sheet_hints(config, result, schemas)
    used = str(config.path) if config.path else None
    if args.format == "json":
        out = render_json(result, used, hints, indent=args.indent)
    else:
        out = render_text(result, verbose=args.verbose, language=language, config_path=used, hints=hints)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return result.exit_code


def cmd_run(args: argparse.Namespace) -> int:
    from .jobs import run_job  # noqa: PLC0415
    from .render import one_line  # noqa: PLC0415

    config = resolve_config(args.config, [])
    from .i18n import translation  # noqa: PLC0415
    from .output import translate_error  # noqa: PLC0415

    t = translation(config.language, "cli")
    _ = t.gettext
    result = run_job(args.job, config, parse_now(args.now, config), dry_run=args.dry_run, month=args.month,
                     resend=args.resend)
    where = _(" (outbox: {path})").format(path=config.outbox / "index.html") if result.delivery.outbox else ""
    print(t.ngettext("{job}: {n} message; {summary}{where}", "{job}: {n} messages; {summary}{where}",
                     len(result.messages)).format(job=args.job, n=len(result.messages),
                                                  summary=result.delivery.summary(_), where=where))
    if any(s.error for s in result.check.sources):
        for s in result.check.sources:
            if s.error:
                print(_("  could not read {name}: {error}").format(
                    name=one_line(s.name, 80), error=one_line(translate_error(s.error, t), 300)), file=sys.stderr)
        return 2
    return 1 if result.delivery.failed or result.delivery.deferred else 0


def cmd_history(args: argparse.Namespace) -> int:
    from .ledger import Ledger  # noqa: PLC0415

    config = resolve_config(args.config, [])
    since = None
    if args.since:
        try:
            since = dt.datetime.combine(dt.date.fromisoformat(args.since), dt.time(), config.timezone)
        except ValueError:
            raise ConfigError(f"--since: {args.since!r} is not a date such as 2026-11-01") from None
    if not config.state.exists():
        print("nothing sent yet")
        return 0
    from .render import one_line  # noqa: PLC0415

    def shown(value: object, limit: int) -> str:  # no escape sequence or line break from a cell reaches the terminal
        return one_line(str(value or ""), limit)

    ledger = Ledger(config.state)
    try:
        for e in ledger.history(since):
            error = f"  ({shown(e.error, 200)})" if e.error else ""
            print(f"{shown(e.updated_at[:16].replace('T', ' '), 16)}  {shown(e.shown_status, 8):<8} {shown(e.kind, 10):<10} "
                  f"{shown(e.recipient, 60):<28} {shown(e.subject, 120)}{error}")
        for r in ledger.runs(since):
            print(f"{shown(r.started_at[:16].replace('T', ' '), 16)}  run {shown(r.job, 20):<12} "
                  f"{shown(r.outcome or 'running', 10):<8} {shown(r.detail, 300)}")
    finally:
        ledger.close()
    return 0


def configure_logging(config: Config, verbose: bool) -> None:
    """stderr always, and the file named in `log: {file: ...}`; records carry no secrets or phones."""
    level = getattr(logging, config.log_level or ("DEBUG" if verbose else "INFO"))
    root = logging.getLogger()
    root.setLevel(level)
    if config.log_file:
        handler = logging.FileHandler(config.log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)


def cmd_serve(args: argparse.Namespace) -> int:
    from .service import Service  # noqa: PLC0415

    config = resolve_config(args.config, [])
    configure_logging(config, args.verbose)
    service = Service(config, clock=lambda: dt.datetime.now(config.timezone))  # the service's clock
    service.install_signal_handlers()
    service.serve_forever()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor  # noqa: PLC0415

    config = resolve_config(args.config, [])
    return doctor(config, parse_now(args.now, config), language=run_language(args, config))


def cmd_init(args: argparse.Namespace) -> int:
    from .init import run_init  # noqa: PLC0415

    return run_init([Path(p) for p in args.paths], Path(args.out), force=args.force, language=run_language(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo  # noqa: PLC0415

    return run_demo(args.now, Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="say more (ignored sheets, retries)")
    parser = argparse.ArgumentParser(prog="run.py", description="Huifang (回访): reminders from shared logs")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", parents=[common], help="check workbooks against the schemas and deadlines")
    check.add_argument("paths", nargs="*", help="workbooks to check directly (tables matched by headers)")
    check.add_argument("--config", help=f"configuration file (default: {DEFAULT_CONFIG} if present)")
    check.add_argument("--now", help="the moment to check at, ISO (default: now)")
    check.add_argument("--format", choices=("text", "json", "xlsx"), default="text",
                       help="xlsx: a findings workbook, one sheet per person (needs --output)")
    check.add_argument("--output", help="xlsx: the workbook to write, e.g. 问题清单.xlsx")
    check.add_argument("--reader", help="xlsx: the person reading it: their own sheet shows full phone numbers")
    check.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1,
                       help="read this many workbooks at once, in separate processes (default: the CPU count)")
    check.add_argument("--indent", type=int, default=None, help="JSON: indent by this many spaces (default: compact)")
    check.add_argument("--language", choices=LANGUAGES, help="language of the text (default: the config's)")
    check.set_defaults(func=cmd_check)

    run = sub.add_parser("run", parents=[common], help="run a job: " + ", ".join(JOB_NAMES))
    run.add_argument("job", choices=JOB_NAMES)
    run.add_argument("--resend", action="store_true",
                     help="monthly-report: send the report again even if it was sent (a corrected one)")
    run.add_argument("--month", help="monthly-report: the month, YYYY-MM (default: the previous month)")
    run.add_argument("--config", help=f"configuration file (default: {DEFAULT_CONFIG} if present)")
    run.add_argument("--now", help="the moment to run at, ISO (default: now)")
    run.add_argument("--dry-run", action="store_true", help="write the emails to the outbox only; record nothing")
    run.set_defaults(func=cmd_run)

    history = sub.add_parser("history", parents=[common], help="what was sent to whom, and what failed")
    history.add_argument("--config", help=f"configuration file (default: {DEFAULT_CONFIG} if present)")
    history.add_argument("--since", help="from this date on (YYYY-MM-DD)")
    history.set_defaults(func=cmd_history)

    serve = sub.add_parser("serve", parents=[common], help="run the jobs on schedule until stopped")
    serve.add_argument("--config", help=f"configuration file (default: {DEFAULT_CONFIG} if present)")
    serve.set_defaults(func=cmd_serve)

    doc = sub.add_parser("doctor", parents=[common], help="check config, sources, mail and schedule; send nothing")
    doc.add_argument("--config", help=f"configuration file (default: {DEFAULT_CONFIG} if present)")
    doc.add_argument("--now", help="the moment to check at, ISO (default: now)")
    doc.add_argument("--language", choices=LANGUAGES, help="language of the report (default: the config's)")
    doc.set_defaults(func=cmd_doctor)

    init = sub.add_parser("init", parents=[common], help="write a starter huifang.yaml from your workbooks")
    init.add_argument("paths", nargs="+", help="the workbooks to read")
    init.add_argument("--out", default=DEFAULT_CONFIG, help=f"the file to write (default: {DEFAULT_CONFIG})")
    init.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    init.add_argument("--language", choices=LANGUAGES, default="zh-CN", help="language of the config and messages")
    init.set_defaults(func=cmd_init)

    demo = sub.add_parser("demo", parents=[common], help="run on the bundled demo workbooks")
    demo.add_argument("--now", default=None, help="the moment to run at (default: the demo's fixed morning)")
    demo.add_argument("--out", default="demo-output", help="folder for the demo's output")
    demo.set_defaults(func=cmd_demo)
    return parser


def _error_language(args: argparse.Namespace) -> str:
    """The language to say an error in: --language, else the config's when it loads, else zh-CN."""
    if getattr(args, "language", None):
        return args.language
    named = getattr(args, "config", None) or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    try:
        return load_config(Path(named)).language if named else "zh-CN"
    except HuifangError:
        return "zh-CN"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s"
    )
    try:
        return args.func(args)
    except HuifangError as exc:
        from .i18n import translation  # noqa: PLC0415
        from .output import clean, translate_error  # noqa: PLC0415

        language = _error_language(args)
        print(f"huifang: {clean(translate_error(str(exc), translation(language, 'cli')), 2000)}", file=sys.stderr)
        return exc.exit_code

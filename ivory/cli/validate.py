"""``ivory validate [PATH ...]``: check parameter files for CI, without training anything.

Every problem of every file is printed on its own line, ``file:line:col: path: message``, the form
editors and CI annotations understand (or a JSON document with ``--format json``). The exit code is
0 when every file is valid, 1 when any is not, and 2 for a usage error (a path that does not exist,
a malformed option). Nothing is built or tracked, and MLflow, Optuna and torch are not imported.
"""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from ivory.cli.common import EXIT_CONFIG, EXIT_FAILURE, echo, handle_errors, parse_overrides

__all__ = ["OutputFormat", "validate"]


class OutputFormat(str, enum.Enum):
    """How problems are printed."""

    text = "text"
    json = "json"
    github = "github"


def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Parameter files, or directories searched for *.yaml and *.yml. "
            "Default: configs/.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="text: one line per problem; json: a document; github: GitHub Actions "
            "annotations on the files' lines.",
        ),
    ] = OutputFormat.text,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="An override to check against every file, as ivory run takes it "
            "(NAME=VALUE, sweeps allowed: fold=0-4). Repeatable.",
            show_default=False,
        ),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--directory", "-C", help="The project directory (its modules import).")
    ] = Path("."),
) -> None:
    """Check parameter files: YAML, composition, schema, names, signatures, references, spaces."""
    from ivory.config.validate import find_files, validate_files

    # Read the arguments; a bad one is a usage error (exit 2).
    with handle_errors():
        import ivory

        ivory.create_client(directory, tracker=False)
        given = overrides or []
        checked = {name: str(text) for name, text in parse_overrides(given).items()}
        targets = paths or [Path("configs")]
        files = find_files([p if p.is_absolute() else directory / p for p in targets])

    # Check every file and report every problem.
    reports = validate_files(files, overrides=checked)
    names = {str(file): _shown(file, directory) for file in files}
    if output is OutputFormat.json:
        echo(json.dumps(_document(reports, names), indent=2, allow_nan=False))
    elif output is OutputFormat.github:
        for report in reports:
            for issue in report.issues:
                echo(_annotation(issue, report.file, names))
        _summary(reports)
    else:
        for report in reports:
            for issue in report.issues:
                echo(_line(issue, report.file, names))
        _summary(reports)
    if any(not report.valid for report in reports):
        raise typer.Exit(EXIT_FAILURE)


def _shown(file: Path, directory: Path) -> str:
    """The file as the user named it (relative to the project directory when inside it)."""
    try:
        return str(file.resolve().relative_to(directory.resolve()))
    except ValueError:
        return str(file)


def _where(
    source: str, report: str, names: dict[str, str]
) -> tuple[str, int | None, int | None, str]:
    """``(file, line, column, override)`` of an issue's source, the file as the user named it.

    A source is ``file:line:col``, a file, or the text of an override checked against `report`.
    """
    from ivory.config.validate import split_source

    file, line, column = split_source(source)
    if line is None and source not in names and not Path(source).is_file():
        return names.get(report, report), None, None, source
    for given, shown in names.items():
        if file == given:
            file = shown
    return file, line, column, ""


def _line(issue: Any, report: str, names: dict[str, str]) -> str:
    file, line, column, override = _where(issue.source, report, names)
    position = f"{file}:{line}:{column}" if line is not None else file
    # An override's text already starts with its name: name it once.
    path = "" if override.startswith(f"{issue.path}=") else issue.path
    parts = [part for part in (position, override, path) if part]
    return ": ".join([*parts, issue.message])


def _annotation(issue: Any, report: str, names: dict[str, str]) -> str:
    """A GitHub Actions ``::error`` workflow command, shown on the file's line in the diff."""
    file, line, column, override = _where(issue.source, report, names)
    where = [f"file={_escape(file, True)}"]
    if line is not None:
        where += [f"line={line}", f"col={column}"]
    text = ": ".join(part for part in (override, issue.path, issue.message) if part)
    return f"::error {','.join(where)},title=ivory validate::{_escape(text, False)}"


def _escape(text: str, property_value: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _summary(reports: list[Any]) -> None:
    invalid = [report for report in reports if not report.valid]
    count = sum(len(report.issues) for report in reports)
    files = f"{len(reports)} file{'s' if len(reports) != 1 else ''}"
    if invalid:
        problems = f"{count} problem{'s' if count != 1 else ''}"
        typer.echo(f"{problems} in {len(invalid)} of {files}", err=True)
    else:
        typer.echo(f"{files} valid", err=True)


def _document(reports: list[Any], names: dict[str, str]) -> dict[str, Any]:
    files = []
    for report in reports:
        errors = []
        for issue in report.issues:
            file, line, column, override = _where(issue.source, report.file, names)
            error: dict[str, Any] = {
                "file": file,
                "line": line,
                "column": column,
                "path": issue.path,
                "message": issue.message,
            }
            if override:
                error["override"] = override
            if issue.has_value:
                error["value"] = _json_value(issue.value)
            errors.append(error)
        files.append({"file": names[report.file], "valid": report.valid, "errors": errors})
    return {
        "valid": all(report.valid for report in reports),
        "files": files,
        "error_count": sum(len(report.issues) for report in reports),
    }


def _json_value(value: Any) -> Any:
    """The value as JSON: plain data as is, non-finite numbers and objects as text."""
    from ivory.config.dump import to_serializable

    plain = to_serializable(value)
    try:
        json.dumps(plain, allow_nan=False)
    except (TypeError, ValueError):
        if isinstance(plain, float) and not math.isfinite(plain):
            return str(plain)
        return repr(value)
    return plain


EXIT_CODES = {"valid": 0, "invalid": EXIT_FAILURE, "usage": EXIT_CONFIG}
"""The exit codes of ``ivory validate``."""

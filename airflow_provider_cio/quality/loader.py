"""Finding and reading contracts: user directories first (in the order given), then the contracts we ship."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from airflow_provider_cio.quality.contract import Contract, parse_contract
from airflow_provider_cio.quality.errors import ContractError, ContractNotFound

log = logging.getLogger(__name__)

_SUFFIXES = (".yaml", ".yml")


def shipped_contracts_dir() -> Path:
    """The directory of contracts inside the installed package."""
    return Path(str(resources.files("airflow_provider_cio.quality") / "contracts"))


def load_contract(dataset: str, *, search_paths: Iterable[str | Path] = ()) -> Contract:
    """The contract for ``dataset``: the first ``<dataset>.yaml`` in ``search_paths``, else the shipped one."""
    directories = [Path(path) for path in search_paths] + [shipped_contracts_dir()]
    for directory in directories:
        for suffix in _SUFFIXES:
            candidate = directory / f"{dataset}{suffix}"
            if candidate.is_file():
                contract = load_contract_file(candidate)
                if contract.dataset != dataset:
                    raise ContractError(
                        str(candidate),
                        "dataset",
                        f"file is named for {dataset!r} but declares {contract.dataset!r}",
                    )
                log.info("using contract %s %s from %s", dataset, contract.version, candidate)
                return contract
    known = sorted(
        {path.stem for directory in directories if directory.is_dir() for path in _yaml_files(directory)}
    )
    raise ContractNotFound(dataset, [str(directory) for directory in directories], known)


def load_contract_file(path: str | Path) -> Contract:
    """Parse one contract file; YAML syntax errors become ``ContractError`` with the line."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(str(path), "<file>", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "<yaml>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError(str(path), where, f"not valid YAML: {problem}") from None
    return parse_contract(data, source=str(path))


def _yaml_files(directory: Path) -> list[Path]:
    return [path for path in directory.iterdir() if path.suffix in _SUFFIXES]

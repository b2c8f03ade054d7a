"""Readers for verification benchmark datasets.

Every malformed input raises ``DatasetError`` whose message starts with ``<file>:<line>:``
(1-based line). Readers check structure only; whether the image files exist and decode is
the embedding stage's concern. Fold numbers are 1-based, as in LFW; a source without folds
puts every pair in fold 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from facegate.errors import DatasetError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Pair:
    """Two images and whether they show the same person; ``fold`` is 1-based."""

    path_a: Path
    path_b: Path
    same: bool
    fold: int


@dataclass(frozen=True, slots=True)
class LabelledImage:
    path: Path
    identity: str


def _err(path: Path, line: int, msg: str) -> DatasetError:
    return DatasetError(f"{path}:{line}: {msg}")


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise _err(path, line, "not valid UTF-8 text") from e


def _positive_int(path: Path, line: int, raw: str, what: str) -> int:
    value = raw.strip()
    if not _DIGITS.fullmatch(value) or int(value) < 1:
        raise _err(path, line, f"{what} must be a positive integer, got {raw!r}")
    return int(value)


def _relative_path(path: Path, line: int, base: Path, raw: str, what: str) -> Path:
    rel = Path(raw.strip())
    # Dataset files must not point outside their own folder.
    if not raw.strip() or rel.is_absolute() or ".." in rel.parts:
        raise _err(path, line, f"{what} must be a relative path inside the folder, got {raw!r}")
    return base / rel


# --- LFW pairs.txt -------------------------------------------------------------------


def _lfw_image(path: Path, line: int, root: Path, name: str, raw_num: str) -> Path:
    if name in {".", ".."} or "/" in name or "\\" in name:
        raise _err(path, line, f"invalid person name {name!r}")
    num = _positive_int(path, line, raw_num, "image number")
    return root / name / f"{name}_{num:04d}.jpg"


def read_lfw_pairs(pairs_txt: Path, images_root: Path | None = None) -> list[Pair]:
    """Read an LFW ``pairs.txt``: header ``<n_folds> <n_per_fold>``, then per fold
    ``n_per_fold`` matched lines ``name n1 n2`` and ``n_per_fold`` mismatched lines
    ``name1 n1 name2 n2`` (tab- or space-separated).

    Image ``n`` of ``name`` is ``images_root/name/name_%04d.jpg``; ``images_root``
    defaults to ``pairs_txt.parent / "images"``. Returns pairs in file order.
    """
    root = pairs_txt.parent / "images" if images_root is None else images_root
    lines = _read_text(pairs_txt).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise _err(pairs_txt, 1, "empty file, expected header '<n_folds>\\t<n_per_fold>'")
    header = lines[0].split()
    if len(header) != 2:
        raise _err(pairs_txt, 1, f"expected header '<n_folds>\\t<n_per_fold>', got {lines[0]!r}")
    n_folds = _positive_int(pairs_txt, 1, header[0], "number of folds")
    n_per = _positive_int(pairs_txt, 1, header[1], "pairs per fold")
    expected = n_folds * 2 * n_per
    pairs: list[Pair] = []
    for k, text in enumerate(lines[1 : expected + 1]):
        line = k + 2
        fold, pos = divmod(k, 2 * n_per)
        same = pos < n_per
        f = text.split()
        if same and len(f) == 3:
            a = _lfw_image(pairs_txt, line, root, f[0], f[1])
            b = _lfw_image(pairs_txt, line, root, f[0], f[2])
        elif not same and len(f) == 4:
            a = _lfw_image(pairs_txt, line, root, f[0], f[1])
            b = _lfw_image(pairs_txt, line, root, f[2], f[3])
        else:
            want = (
                "3 fields (name n1 n2) for a matched"
                if same
                else ("4 fields (name1 n1 name2 n2) for a mismatched")
            )
            raise _err(
                pairs_txt,
                line,
                f"expected {want} pair of fold {fold + 1}, got {len(f)} fields"
                f" (header says {n_folds} folds of {n_per} + {n_per} pairs)",
            )
        pairs.append(Pair(a, b, same, fold + 1))
    if len(lines) - 1 != expected:
        where = len(lines) if len(lines) - 1 < expected else expected + 2
        raise _err(
            pairs_txt,
            where,
            f"header promises {expected} pair lines ({n_folds} folds × 2 × {n_per}),"
            f" file has {len(lines) - 1}",
        )
    return pairs


# --- CSV -----------------------------------------------------------------------------


def _csv_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each non-blank data row, checking the header."""
    reader = csv.reader(io.StringIO(_read_text(path)), strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
        if not header:
            raise _err(path, 1, f"empty file, expected a header with {', '.join(required)}")
        missing = [c for c in required if c not in header]
        if missing:
            raise _err(path, 1, f"missing column(s) {', '.join(missing)} in header {header}")
        if len(set(header)) != len(header):
            raise _err(path, 1, f"duplicate column names in header {header}")
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise _err(path, reader.line_num, f"expected {len(header)} fields, got {len(row)}")
            yield reader.line_num, dict(zip(header, row, strict=True))
    except csv.Error as e:
        raise _err(path, reader.line_num, f"malformed CSV: {e}") from e


def _parse_same(path: Path, line: int, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _err(path, line, f"'same' must be one of True/False/1/0/yes/no, got {raw!r}")


def read_pairs_csv(csv_path: Path) -> list[Pair]:
    """Read a pairs CSV with columns ``path_a, path_b, same`` and optional ``fold``.

    Paths are relative to the CSV's folder; ``same`` accepts True/False/1/0/yes/no (any
    case); ``fold`` is a positive integer, 1 when the column is absent. Extra columns are
    ignored. Returns pairs in file order.
    """
    base = csv_path.parent
    pairs: list[Pair] = []
    for line, row in _csv_rows(csv_path, ("path_a", "path_b", "same")):
        fold = _positive_int(csv_path, line, row["fold"], "fold") if "fold" in row else 1
        pairs.append(
            Pair(
                path_a=_relative_path(csv_path, line, base, row["path_a"], "path_a"),
                path_b=_relative_path(csv_path, line, base, row["path_b"], "path_b"),
                same=_parse_same(csv_path, line, row["same"]),
                fold=fold,
            )
        )
    if not pairs:
        raise _err(csv_path, 1, "no pairs after the header")
    return pairs


# --- labelled folders ----------------------------------------------------------------


def _from_labels_csv(labels: Path, root: Path) -> list[LabelledImage]:
    seen: set[Path] = set()
    out: list[LabelledImage] = []
    for line, row in _csv_rows(labels, ("path", "identity")):
        path = _relative_path(labels, line, root, row["path"], "path")
        identity = row["identity"].strip()
        if not identity:
            raise _err(labels, line, "empty identity")
        if path in seen:
            raise _err(labels, line, f"duplicate path {row['path']!r}")
        seen.add(path)
        out.append(LabelledImage(path, identity))
    return out


def _from_subfolders(root: Path) -> list[LabelledImage]:
    out: list[LabelledImage] = []
    for sub in root.iterdir():
        if not sub.is_dir() or sub.name.startswith("."):
            continue
        for f in sub.iterdir():
            if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in IMAGE_SUFFIXES:
                out.append(LabelledImage(f, sub.name))
    return out


def read_labelled_folder(root: Path) -> list[LabelledImage]:
    """List the images of an identification dataset, sorted by (identity, path).

    Uses ``root/labels.csv`` (columns ``path, identity``; paths relative to ``root``) when
    present, else one sub-folder per identity holding image files
    (jpg/jpeg/png/bmp/webp, any case; hidden files skipped).
    """
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory")
    labels = root / "labels.csv"
    images = _from_labels_csv(labels, root) if labels.is_file() else _from_subfolders(root)
    if not images:
        raise DatasetError(
            f"{root}: no images found (expected labels.csv or one sub-folder per identity)"
        )
    return sorted(images, key=lambda im: (im.identity, str(im.path)))


def all_vs_all_pairs(
    images: Sequence[LabelledImage],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Every unordered pair of ``images``: index arrays ``i < j`` and ``same``.

    All three arrays have shape ``(n * (n - 1) / 2,)``; ``i``/``j`` are ``intp``, ``same``
    is bool. Row-major order: (0, 1), (0, 2), ..., (1, 2), ...
    """
    identities = np.array([im.identity for im in images], dtype=str)
    _, codes = np.unique(identities, return_inverse=True)
    i, j = np.triu_indices(len(images), k=1)
    return i, j, codes[i] == codes[j]

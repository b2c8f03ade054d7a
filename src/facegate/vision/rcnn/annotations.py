"""Readers for face-box datasets: Pascal-VOC XML, a CSV of boxes, and WIDER FACE's text.

Every reader returns ``AnnotatedImage`` records with boxes ``[x1, y1, x2, y2]`` in pixels of
the image as :func:`facegate.vision.image.load_image` decodes it (EXIF orientation applied),
``x2``/``y2`` exclusive, labels mapped through an explicit table to the detector's classes.

Bad input raises :class:`~facegate.errors.DatasetError` whose message starts with
``<file>:<line>:`` (1-based): a malformed line or XML, a missing image, an unknown label, a
zero-area box, or a box outside the image. A box may overhang the image by at most
:data:`BOX_EDGE_TOLERANCE_PX` and is then clipped to it: that absorbs the off-by-one of the
different pixel conventions (VOC's 1-based inclusive corners put ``xmax`` at the width; a
0-based inclusive tool at width - 1; a 1-based exclusive one at width + 1); anything further
out is an error, since it means the box was drawn on another image or another size of it.

The image header is read for every image (no pixel is decoded): it proves the image exists
and is readable, gives the size where the annotation has none, and is checked against the
size where the annotation has one. No torch import here.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from xml.parsers import expat

from PIL import Image

from facegate.errors import DatasetError

#: The detector's one object class.
FACE_LABEL = "face"
#: Dataset labels that mean "a face": the mask set's three classes (Kaggle "Face Mask
#: Detection": with_mask, without_mask, mask_weared_incorrect [sic]) are all faces to a gate.
DEFAULT_LABEL_MAP: Mapping[str, str] = MappingProxyType(
    {
        FACE_LABEL: FACE_LABEL,
        "with_mask": FACE_LABEL,
        "without_mask": FACE_LABEL,
        "mask_weared_incorrect": FACE_LABEL,
    }
)
#: How far (pixels) a box may overhang the image before it is an error; it is clipped.
#: One pixel covers every off-by-one between the 0/1-based, inclusive/exclusive conventions.
BOX_EDGE_TOLERANCE_PX = 1.0
#: WIDER FACE box lines: x y w h blur expression illumination invalid occlusion pose.
WIDER_FIELDS = 10
#: Position of WIDER FACE's ``invalid`` flag in a box line (1: the annotators could not
#: draw a trustworthy box; WIDER's own evaluation ignores such faces).
WIDER_INVALID_FIELD = 7

_BOX_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("x1", "y1", "x2", "y2"),
    ("xmin", "ymin", "xmax", "ymax"),
    ("x", "y", "w", "h"),  # x, y: top-left corner; w, h: size
)
_SIZE_COLUMNS: tuple[tuple[str, str], ...] = (("img_width", "img_height"), ("width", "height"))
#: EXIF orientations that turn the picture by 90 degrees (width and height swap).
_EXIF_ORIENTATION_TAG = 0x0112
_EXIF_QUARTER_TURNS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True, slots=True)
class LabelledBox:
    """A box ``[x1, y1, x2, y2]`` in pixels (``x2``/``y2`` exclusive) and its class.

    ``label`` is the detector's class (``"face"``); ``source_label`` is the dataset's own
    label before mapping (``"with_mask"``), None where the dataset has no labels.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    source_label: str | None = None

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True, slots=True)
class AnnotatedImage:
    """One image, its size in pixels (after EXIF orientation) and its boxes (maybe none)."""

    path: Path
    width: int
    height: int
    boxes: tuple[LabelledBox, ...]


class AnnotationFormat(StrEnum):
    VOC = "voc"  # a folder of Pascal-VOC .xml files
    CSV = "csv"  # one CSV of boxes
    WIDER = "wider"  # WIDER FACE's wider_face_*_bbx_gt.txt


def read_annotations(
    fmt: AnnotationFormat | str,
    source: Path,
    *,
    images_dir: Path | None = None,
    label_map: Mapping[str, str] = DEFAULT_LABEL_MAP,
) -> list[AnnotatedImage]:
    """Read ``source`` in format ``fmt``: the one entry point for every reader.

    ``images_dir`` is required for VOC and WIDER; for CSV it defaults to the CSV's folder.
    ``label_map`` does not apply to WIDER FACE, whose boxes are all faces.

    Raises:
        ValueError: unknown ``fmt``, or ``images_dir`` missing where required.
        DatasetError: bad input (see the module docstring).
    """
    try:
        chosen = AnnotationFormat(fmt)
    except ValueError:
        choices = ", ".join(f.value for f in AnnotationFormat)
        raise ValueError(f"fmt must be one of {choices}, got {fmt!r}") from None
    if chosen is AnnotationFormat.CSV:
        return read_boxes_csv(source, images_dir=images_dir, label_map=label_map)
    if images_dir is None:
        raise ValueError(f"images_dir is required for the {chosen.value} format")
    if chosen is AnnotationFormat.VOC:
        return read_voc_dir(source, images_dir, label_map=label_map)
    return read_wider_face(source, images_dir)


# --- shared checks -------------------------------------------------------------------


def _err(path: Path, line: int, msg: str) -> DatasetError:
    return DatasetError(f"{path}:{line}: {msg}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from e


def _read_text(path: Path) -> str:
    data = _read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _err(path, data[: e.start].count(b"\n") + 1, "not valid UTF-8 text") from e


def _number(path: Path, line: int, raw: str, what: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise _err(path, line, f"{what} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise _err(path, line, f"{what} must be finite, got {raw!r}")
    return value


def _size(path: Path, line: int, raw: str, what: str) -> int:
    value = _number(path, line, raw, what)
    if value < 1 or value != int(value):
        raise _err(path, line, f"{what} must be a positive integer, got {raw!r}")
    return int(value)


def _image_path(path: Path, line: int, images_dir: Path, raw: str) -> Path:
    rel = Path(raw.strip())
    # Annotations must not point outside their image folder.
    if not raw.strip() or rel.is_absolute() or ".." in rel.parts:
        raise _err(path, line, f"image path must be relative, inside {images_dir}: {raw!r}")
    return images_dir / rel


def read_image_size(image: Path) -> tuple[int, int]:
    """``(width, height)`` of ``image`` after EXIF orientation, from its header only.

    Raises:
        DatasetError: missing, unreadable, or not an image.
    """
    if not image.is_file():
        raise DatasetError(f"{image}: image not found")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(image) as opened:
                width, height = opened.size
                orientation = opened.getexif().get(_EXIF_ORIENTATION_TAG)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise DatasetError(f"{image}: too many pixels ({e})") from e
        except (OSError, SyntaxError, ValueError) as e:
            raise DatasetError(f"{image}: not a readable image ({e})") from e
    if orientation in _EXIF_QUARTER_TURNS:
        return height, width
    return width, height


def _checked_size(
    path: Path, line: int, image: Path, given: tuple[int, int] | None
) -> tuple[int, int]:
    """The image's size from its header, checked against the annotation's where it has one."""
    try:
        actual = read_image_size(image)
    except DatasetError as e:
        raise _err(path, line, str(e)) from e
    if given is not None and given != actual:
        raise _err(
            path,
            line,
            f"annotation says {given[0]}x{given[1]} but image {image} is "
            f"{actual[0]}x{actual[1]} (after EXIF orientation)",
        )
    return actual


def _box(
    path: Path,
    line: int,
    corners: tuple[float, float, float, float],
    size: tuple[int, int],
    label: str,
    source_label: str | None,
) -> LabelledBox:
    """Check a box against its image; clip an overhang within tolerance."""
    x1, y1, x2, y2 = corners
    width, height = size
    shown = f"[{x1:g}, {y1:g}, {x2:g}, {y2:g}]"
    if x2 <= x1 or y2 <= y1:
        raise _err(path, line, f"zero-area box {shown} (x2 must exceed x1, y2 must exceed y1)")
    tol = BOX_EDGE_TOLERANCE_PX
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        raise _err(
            path,
            line,
            f"box {shown} lies outside the {width}x{height} image by more than {tol:g} px",
        )
    cx1, cy1 = max(x1, 0.0), max(y1, 0.0)
    cx2, cy2 = min(x2, float(width)), min(y2, float(height))
    if cx2 <= cx1 or cy2 <= cy1:
        raise _err(path, line, f"box {shown} has no area inside the {width}x{height} image")
    return LabelledBox(cx1, cy1, cx2, cy2, label, source_label)


def _mapped(path: Path, line: int, raw: str, label_map: Mapping[str, str]) -> str:
    try:
        return label_map[raw]
    except KeyError:
        known = ", ".join(sorted(label_map))
        raise _err(path, line, f"unknown label {raw!r} (known: {known})") from None


# --- Pascal-VOC XML ------------------------------------------------------------------


@dataclass(slots=True)
class _Element:
    """An XML element with the line it starts on (ElementTree keeps no line numbers)."""

    tag: str
    line: int
    children: list[_Element] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> _Element | None:
        return next((c for c in self.children if c.tag == tag), None)


def _parse_xml(path: Path) -> _Element:
    parser = expat.ParserCreate()
    stack: list[_Element] = []
    roots: list[_Element] = []

    def start(tag: str, _attrs: dict[str, str]) -> None:
        element = _Element(tag, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    def doctype(*_args: object) -> None:
        # No DTD, so no entity can be declared or expanded (billion laughs, external files).
        raise _err(path, parser.CurrentLineNumber, "DOCTYPE declarations are not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(_read_bytes(path), True)
    except expat.ExpatError as e:
        raise _err(path, e.lineno, f"malformed XML: {expat.ErrorString(e.code)}") from e
    return roots[0]


def _child_text(path: Path, parent: _Element, tag: str) -> tuple[str, int]:
    child = parent.find(tag)
    if child is None:
        raise _err(path, parent.line, f"<{parent.tag}> has no <{tag}>")
    return child.text.strip(), child.line


def read_voc_xml(
    xml_path: Path, images_dir: Path, *, label_map: Mapping[str, str] = DEFAULT_LABEL_MAP
) -> AnnotatedImage:
    """Read one Pascal-VOC annotation; its ``<filename>`` is relative to ``images_dir``.

    ``<size>`` is optional (the header gives it); ``<path>`` is ignored (it holds the
    annotator's own disk). Each ``<object>`` needs ``<name>`` and ``<bndbox>`` with
    ``xmin ymin xmax ymax``; an annotation without objects is an image without faces.
    """
    root = _parse_xml(xml_path)
    if root.tag != "annotation":
        raise _err(xml_path, root.line, f"root element is <{root.tag}>, expected <annotation>")
    filename, filename_line = _child_text(xml_path, root, "filename")
    image = _image_path(xml_path, filename_line, images_dir, filename)
    given: tuple[int, int] | None = None
    size = root.find("size")
    if size is not None:
        w_raw, w_line = _child_text(xml_path, size, "width")
        h_raw, h_line = _child_text(xml_path, size, "height")
        given = (_size(xml_path, w_line, w_raw, "width"), _size(xml_path, h_line, h_raw, "height"))
    image_size = _checked_size(xml_path, filename_line, image, given)
    boxes: list[LabelledBox] = []
    for obj in root.children:
        if obj.tag != "object":
            continue
        name, name_line = _child_text(xml_path, obj, "name")
        label = _mapped(xml_path, name_line, name, label_map)
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise _err(xml_path, obj.line, "<object> has no <bndbox>")
        corners: list[float] = []
        for tag in ("xmin", "ymin", "xmax", "ymax"):
            raw, line = _child_text(xml_path, bndbox, tag)
            corners.append(_number(xml_path, line, raw, tag))
        x1, y1, x2, y2 = corners
        boxes.append(_box(xml_path, bndbox.line, (x1, y1, x2, y2), image_size, label, name))
    return AnnotatedImage(image, image_size[0], image_size[1], tuple(boxes))


def read_voc_dir(
    annotations_dir: Path,
    images_dir: Path,
    *,
    label_map: Mapping[str, str] = DEFAULT_LABEL_MAP,
) -> list[AnnotatedImage]:
    """Read every ``*.xml`` in ``annotations_dir`` (sorted by name), see :func:`read_voc_xml`.

    Raises:
        DatasetError: no XML files, two files for one image, or any bad file.
    """
    if not annotations_dir.is_dir():
        raise DatasetError(f"{annotations_dir}: not a directory")
    files = sorted(p for p in annotations_dir.glob("*.xml") if p.is_file())
    if not files:
        raise DatasetError(f"{annotations_dir}: no .xml annotation files")
    seen: dict[Path, Path] = {}
    images: list[AnnotatedImage] = []
    for xml_path in files:
        image = read_voc_xml(xml_path, images_dir, label_map=label_map)
        if image.path in seen:
            raise DatasetError(
                f"{xml_path}: image {image.path} is already annotated by {seen[image.path]}"
            )
        seen[image.path] = xml_path
        images.append(image)
    return images


# --- CSV of boxes --------------------------------------------------------------------


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(_read_text(path)), strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as e:
        raise _err(path, 1, f"malformed CSV: {e}") from e
    if not any(header):
        raise _err(path, 1, "empty file, expected a header")
    if len(set(header)) != len(header):
        raise _err(path, 1, f"duplicate column names in header {header}")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for row in reader:
                if not row or not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise _err(
                        path, reader.line_num, f"expected {len(header)} fields, got {len(row)}"
                    )
                yield reader.line_num, dict(zip(header, row, strict=True))
        except csv.Error as e:
            raise _err(path, reader.line_num, f"malformed CSV: {e}") from e

    return header, rows()


def _pick_columns(
    path: Path, header: Sequence[str], choices: Sequence[tuple[str, ...]], what: str
) -> tuple[str, ...] | None:
    present = [cols for cols in choices if any(c in header for c in cols)]
    if len(present) > 1:
        raise _err(path, 1, f"ambiguous {what} columns: both {present[0]} and {present[1]}")
    if not present:
        return None
    missing = [c for c in present[0] if c not in header]
    if missing:
        raise _err(path, 1, f"{what} columns {present[0]}: missing {', '.join(missing)}")
    return present[0]


@dataclass(slots=True)
class _CsvImage:
    """Rows of one image while the CSV is read (mutable builder, frozen on return)."""

    line: int
    given: tuple[int, int] | None
    boxes: list[tuple[int, tuple[float, float, float, float], str, str | None]]


def read_boxes_csv(
    csv_path: Path,
    *,
    images_dir: Path | None = None,
    label_map: Mapping[str, str] = DEFAULT_LABEL_MAP,
) -> list[AnnotatedImage]:
    """Read a CSV with one box per row; images in order of first appearance.

    Columns: ``path`` (relative to ``images_dir``, default the CSV's folder); the box as
    ``x1,y1,x2,y2`` or ``xmin,ymin,xmax,ymax`` (corners) or ``x,y,w,h`` (top-left corner and
    size); optionally ``label`` (without it every box is a face) and the image size as
    ``img_width,img_height`` or ``width,height``. Other columns are ignored. A row whose box
    cells are all empty lists an image without faces. This reads both development sets'
    ``annotations.csv``.
    """
    base = csv_path.parent if images_dir is None else images_dir
    header, rows = _csv_rows(csv_path)
    if "path" not in header:
        raise _err(csv_path, 1, f"missing column path in header {header}")
    box_cols = _pick_columns(csv_path, header, _BOX_COLUMNS, "box")
    if box_cols is None:
        choices = " or ".join(",".join(cols) for cols in _BOX_COLUMNS)
        raise _err(csv_path, 1, f"no box columns in header {header}: expected {choices}")
    size_cols = _pick_columns(csv_path, header, _SIZE_COLUMNS, "image size")
    xywh = box_cols == _BOX_COLUMNS[2]
    images: dict[Path, _CsvImage] = {}
    for line, row in rows:
        image = _image_path(csv_path, line, base, row["path"])
        given = None
        if size_cols is not None:
            given = (
                _size(csv_path, line, row[size_cols[0]], size_cols[0]),
                _size(csv_path, line, row[size_cols[1]], size_cols[1]),
            )
        entry = images.setdefault(image, _CsvImage(line, given, []))
        if entry.given != given:
            raise _err(csv_path, line, f"image size differs from line {entry.line}'s")
        cells = [row[c] for c in box_cols]
        if not any(cell.strip() for cell in cells):
            continue  # an image without faces
        a, b, c, d = (_number(csv_path, line, row[col], col) for col in box_cols)
        corners = (a, b, a + c, b + d) if xywh else (a, b, c, d)
        source = row["label"].strip() if "label" in row else None
        label = FACE_LABEL if source is None else _mapped(csv_path, line, source, label_map)
        entry.boxes.append((line, corners, label, source))
    if not images:
        raise _err(csv_path, 1, "no rows after the header")
    return [_finish(csv_path, image, entry) for image, entry in images.items()]


def _finish(csv_path: Path, image: Path, entry: _CsvImage) -> AnnotatedImage:
    size = _checked_size(csv_path, entry.line, image, entry.given)
    boxes = tuple(
        _box(csv_path, line, corners, size, label, source)
        for line, corners, label, source in entry.boxes
    )
    return AnnotatedImage(image, size[0], size[1], boxes)


# --- WIDER FACE ----------------------------------------------------------------------


def read_wider_face(
    txt_path: Path, images_dir: Path, *, keep_invalid: bool = False
) -> list[AnnotatedImage]:
    """Read WIDER FACE's ``wider_face_{train,val}_bbx_gt.txt``; image paths under ``images_dir``.

    Per image: its path, the face count, then one line per face of ``x y w h blur expression
    illumination invalid occlusion pose`` (``x, y`` the top-left corner) or just ``x y w h``.
    A count of 0 may be followed by one line of zeros (the official files have it). Faces
    flagged ``invalid`` are skipped unless ``keep_invalid``: torchvision cannot ignore a
    region, and boxes WIDER itself distrusts would teach wrong ones. Blank lines are
    skipped. Every box is a face (``source_label`` None).
    """
    entries = [
        (i + 1, text)
        for i, raw in enumerate(_read_text(txt_path).splitlines())
        if (text := raw.strip())
    ]
    images: list[AnnotatedImage] = []
    seen: dict[Path, int] = {}
    at = count_line = 0
    while at < len(entries):
        name_line, name = entries[at]
        if _wider_values(name) is not None:
            hint = f" (more faces than the count on line {count_line}?)" if images else ""
            raise _err(txt_path, name_line, f"expected an image path, got a face line{hint}")
        image = _image_path(txt_path, name_line, images_dir, name)
        if image in seen:
            raise _err(txt_path, name_line, f"{name} already listed on line {seen[image]}")
        seen[image] = name_line
        if at + 1 == len(entries):
            raise _err(txt_path, name_line, f"file ends before the face count of {name}")
        count_line, count_raw = entries[at + 1]
        if not (count_raw.isascii() and count_raw.isdigit()):
            raise _err(
                txt_path, count_line, f"expected the face count of {name}, got {count_raw!r}"
            )
        count = int(count_raw)
        at += 2
        if (
            count == 0
            and at < len(entries)
            and _wider_values(entries[at][1]) == [0.0] * WIDER_FIELDS
        ):
            at += 1  # the placeholder line of zeros
        faces = entries[at : at + count]
        at += count
        if len(faces) < count:
            raise _err(
                txt_path,
                entries[-1][0],
                f"file ends before face {len(faces) + 1} of {count} of {name}",
            )
        size = _checked_size(txt_path, name_line, image, None)
        boxes: list[LabelledBox] = []
        for index, (line, raw) in enumerate(faces, start=1):
            values = _wider_values(raw)
            if values is None:
                raise _err(
                    txt_path,
                    line,
                    f"face {index} of {count} of {name}: expected 4 or {WIDER_FIELDS} numbers, "
                    f"got {raw!r}",
                )
            if len(values) == WIDER_FIELDS and values[WIDER_INVALID_FIELD] and not keep_invalid:
                continue
            x, y, w, h = values[:4]
            boxes.append(_box(txt_path, line, (x, y, x + w, y + h), size, FACE_LABEL, None))
        images.append(AnnotatedImage(image, size[0], size[1], tuple(boxes)))
    if not images:
        raise _err(txt_path, 1, "no images listed")
    return images


def _wider_values(raw: str) -> list[float] | None:
    """The numbers of a face line, or None when ``raw`` is not 4 or 10 finite numbers."""
    try:
        values = [float(part) for part in raw.split()]
    except ValueError:
        return None
    if len(values) not in (4, WIDER_FIELDS) or not all(math.isfinite(v) for v in values):
        return None
    return values

"""Dataset readers for the detector: tiny files in tmp_path, then the two real detection sets."""

from __future__ import annotations

import re
from collections import Counter
from contextlib import AbstractContextManager
from operator import attrgetter
from pathlib import Path

import pytest
from PIL import Image

from facegate.errors import DatasetError
from facegate.vision.rcnn.annotations import (
    BOX_EDGE_TOLERANCE_PX,
    FACE_LABEL,
    AnnotatedImage,
    AnnotationFormat,
    LabelledBox,
    read_annotations,
    read_boxes_csv,
    read_image_size,
    read_voc_dir,
    read_voc_xml,
    read_wider_face,
)

WIDTH, HEIGHT = 40, 30


def make_image(path: Path, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 120, 150)).save(path)
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def raises_at(
    path: Path, line: int, match: str
) -> AbstractContextManager[pytest.ExceptionInfo[DatasetError]]:
    """Expect a DatasetError naming ``path`` and ``line`` and containing ``match``."""
    return pytest.raises(DatasetError, match=rf"^{re.escape(str(path))}:{line}: .*{match}")


# --- Pascal-VOC XML ------------------------------------------------------------------

Obj = tuple[str, tuple[str, str, str, str]]


def voc_text(
    filename: str = "a.png",
    size: tuple[int, int] | None = (WIDTH, HEIGHT),
    objects: tuple[Obj, ...] = (("with_mask", ("1", "2", "21", "22.5")),),
) -> str:
    lines = ["<annotation>", f"\t<filename>{filename}</filename>", "\t<path>/home/x/a.png</path>"]
    if size is not None:
        lines += ["\t<size>", f"\t\t<width>{size[0]}</width>", f"\t\t<height>{size[1]}</height>"]
        lines += ["\t\t<depth>3</depth>", "\t</size>"]
    for name, (x1, y1, x2, y2) in objects:
        lines += ["\t<object>", f"\t\t<name>{name}</name>", "\t\t<difficult>0</difficult>"]
        lines += ["\t\t<bndbox>", f"\t\t\t<xmin>{x1}</xmin>", f"\t\t\t<ymin>{y1}</ymin>"]
        lines += [f"\t\t\t<xmax>{x2}</xmax>", f"\t\t\t<ymax>{y2}</ymax>", "\t\t</bndbox>"]
        lines += ["\t</object>"]
    return "\n".join([*lines, "</annotation>", ""])


@pytest.fixture
def voc(tmp_path: Path) -> tuple[Path, Path]:
    """(annotations dir, images dir) with image a.png of 40x30."""
    make_image(tmp_path / "images" / "a.png")
    (tmp_path / "annotations").mkdir()
    return tmp_path / "annotations", tmp_path / "images"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_voc_reads_boxes_and_maps_labels(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    objects = (("with_mask", ("1", "2", "21", "22.5")), ("without_mask", ("5", "6", "15", "16")))
    xml = write(ann / "a.xml", voc_text(objects=objects))
    assert read_voc_xml(xml, images) == AnnotatedImage(
        images / "a.png",
        WIDTH,
        HEIGHT,
        (
            LabelledBox(1.0, 2.0, 21.0, 22.5, FACE_LABEL, "with_mask"),
            LabelledBox(5.0, 6.0, 15.0, 16.0, FACE_LABEL, "without_mask"),
        ),
    )


def test_voc_size_from_header_when_absent(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    xml = write(ann / "a.xml", voc_text(size=None))
    image = read_voc_xml(xml, images)
    assert (image.width, image.height) == (WIDTH, HEIGHT)


def test_voc_without_objects_is_an_image_without_faces(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    xml = write(ann / "a.xml", voc_text(objects=()))
    assert read_voc_xml(xml, images).boxes == ()


def test_voc_custom_label_map(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    xml = write(ann / "a.xml", voc_text(objects=(("helmet_face", ("1", "1", "9", "9")),)))
    image = read_voc_xml(xml, images, label_map={"helmet_face": FACE_LABEL})
    assert [(b.label, b.source_label) for b in image.boxes] == [(FACE_LABEL, "helmet_face")]


def test_voc_box_within_tolerance_is_clipped(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    overhang = f"{WIDTH + BOX_EDGE_TOLERANCE_PX:g}"
    xml = write(ann / "a.xml", voc_text(objects=(("face", ("-1", "0", overhang, "30")),)))
    (box,) = read_voc_xml(xml, images).boxes
    assert (box.x1, box.y1, box.x2, box.y2) == (0.0, 0.0, float(WIDTH), float(HEIGHT))


@pytest.mark.parametrize(
    ("objects", "needle", "match"),
    [
        ((("helmet", ("1", "2", "21", "22")),), "<name>", "unknown label 'helmet'"),
        ((("face", ("10", "2", "10", "22")),), "<bndbox>", "zero-area box"),
        ((("face", ("10", "22", "20", "2")),), "<bndbox>", "zero-area box"),
        ((("face", ("1", "2", "45", "22")),), "<bndbox>", "outside the 40x30 image"),
        ((("face", ("-5", "2", "20", "22")),), "<bndbox>", "outside the 40x30 image"),
        ((("face", ("1", "2", "21", "31.5")),), "<bndbox>", "outside the 40x30 image"),
        ((("face", ("1", "2", "abc", "22")),), "<xmax>", "xmax must be a number"),
        ((("face", ("1", "2", "nan", "22")),), "<xmax>", "xmax must be finite"),
    ],
)
def test_voc_bad_object_names_file_and_line(
    voc: tuple[Path, Path], objects: tuple[Obj, ...], needle: str, match: str
) -> None:
    ann, images = voc
    good: Obj = ("face", ("1", "1", "5", "5"))
    text = voc_text(objects=(good, *objects))
    xml = write(ann / "a.xml", text)
    with raises_at(xml, line_of(text, needle, occurrence=2), match):
        read_voc_xml(xml, images)


def test_voc_missing_image(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    text = voc_text(filename="gone.png")
    xml = write(ann / "a.xml", text)
    with raises_at(xml, line_of(text, "<filename>"), "gone.png: image not found"):
        read_voc_xml(xml, images)


def test_voc_size_disagreeing_with_image(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    text = voc_text(size=(WIDTH, HEIGHT + 1))
    xml = write(ann / "a.xml", text)
    with raises_at(xml, line_of(text, "<filename>"), "annotation says 40x31 but image"):
        read_voc_xml(xml, images)


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("<annotation>\n<filename>a.png</filename>\n<size>\n</annotation>\n", 4, "malformed XML"),
        ("", 1, "malformed XML"),
        ("<annotation>\n</annotation>\n", 1, "<annotation> has no <filename>"),
        ("<voc>\n<filename>a.png</filename>\n</voc>\n", 1, "expected <annotation>"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x "y">]>\n<annotation/>\n',
            2,
            "DOCTYPE declarations are not allowed",
        ),
        (
            "<annotation>\n<filename>../a.png</filename>\n</annotation>\n",
            2,
            "image path must be relative",
        ),
        (
            "<annotation>\n<filename>a.png</filename>\n<object>\n<name>face</name>\n"
            "</object>\n</annotation>\n",
            3,
            "<object> has no <bndbox>",
        ),
        (
            "<annotation>\n<filename>a.png</filename>\n<object>\n<name>face</name>\n<bndbox>\n"
            "<xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>\n</bndbox>\n</object>\n</annotation>\n",
            5,
            "<bndbox> has no <ymax>",
        ),
        (
            "<annotation>\n<filename>a.png</filename>\n<size>\n<width>0</width>\n"
            "<height>30</height>\n</size>\n</annotation>\n",
            4,
            "width must be a positive integer",
        ),
    ],
)
def test_voc_malformed_file(voc: tuple[Path, Path], text: str, line: int, match: str) -> None:
    ann, images = voc
    xml = write(ann / "a.xml", text)
    with raises_at(xml, line, match):
        read_voc_xml(xml, images)


def test_voc_dir_reads_every_file_sorted(voc: tuple[Path, Path]) -> None:
    ann, images = voc
    make_image(images / "b.png", (20, 10))
    write(ann / "b.xml", voc_text(filename="b.png", size=None, objects=()))
    write(ann / "a.xml", voc_text())
    write(ann / "notes.txt", "not an annotation")
    result = read_voc_dir(ann, images)
    assert [(i.path.name, i.width, i.height, len(i.boxes)) for i in result] == [
        ("a.png", WIDTH, HEIGHT, 1),
        ("b.png", 20, 10, 0),
    ]


def test_voc_dir_errors(voc: tuple[Path, Path], tmp_path: Path) -> None:
    ann, images = voc
    with pytest.raises(DatasetError, match=rf"^{re.escape(str(ann))}: no \.xml annotation files"):
        read_voc_dir(ann, images)
    with pytest.raises(DatasetError, match="not a directory"):
        read_voc_dir(tmp_path / "absent", images)
    write(ann / "a.xml", voc_text())
    write(ann / "b.xml", voc_text())
    with pytest.raises(
        DatasetError, match=rf"^{re.escape(str(ann / 'b.xml'))}: image .* already annotated"
    ):
        read_voc_dir(ann, images)


# --- image headers -------------------------------------------------------------------


def test_image_size_follows_exif_orientation(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.new("RGB", (40, 20)).save(tmp_path / "turned.jpg", exif=exif)
    assert read_image_size(tmp_path / "turned.jpg") == (20, 40)
    assert read_image_size(make_image(tmp_path / "plain.png")) == (WIDTH, HEIGHT)


def test_image_size_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="image not found"):
        read_image_size(tmp_path / "gone.png")
    write(tmp_path / "text.png", "not a picture")
    with pytest.raises(DatasetError, match="not a readable image"):
        read_image_size(tmp_path / "text.png")


# --- CSV of boxes --------------------------------------------------------------------


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    make_image(tmp_path / "images" / "a.png")
    make_image(tmp_path / "images" / "b.png", (20, 10))
    return tmp_path


def test_csv_mask_set_layout(csv_dir: Path) -> None:
    text = (
        "path,img_width,img_height,label,xmin,ymin,xmax,ymax\n"
        "images/a.png,40,30,with_mask,1,2,21,22\n"
        "images/b.png,20,10,without_mask,0,0,20,10\n"
        "images/a.png,40,30,mask_weared_incorrect,5,5,9.5,9\n"
    )
    result = read_boxes_csv(write(csv_dir / "annotations.csv", text))
    assert result == [
        AnnotatedImage(
            csv_dir / "images/a.png",
            WIDTH,
            HEIGHT,
            (
                LabelledBox(1.0, 2.0, 21.0, 22.0, FACE_LABEL, "with_mask"),
                LabelledBox(5.0, 5.0, 9.5, 9.0, FACE_LABEL, "mask_weared_incorrect"),
            ),
        ),
        AnnotatedImage(
            csv_dir / "images/b.png",
            20,
            10,
            (LabelledBox(0.0, 0.0, 20.0, 10.0, FACE_LABEL, "without_mask"),),
        ),
    ]


def test_csv_dlib_layout_xywh_without_labels(csv_dir: Path) -> None:
    text = "path,img_width,img_height,x,y,w,h,source_xml\nimages/a.png,40,30,3,4,10,12,t.xml\n"
    (image,) = read_boxes_csv(write(csv_dir / "annotations.csv", text))
    assert image.boxes == (LabelledBox(3.0, 4.0, 13.0, 16.0, FACE_LABEL, None),)


def test_csv_corners_without_size_and_images_dir(csv_dir: Path, tmp_path: Path) -> None:
    text = "path,x1,y1,x2,y2,label\nb.png,1,1,5,5,face\nb.png,,,,,\na.png,,,,,\n"
    listing = write(tmp_path / "elsewhere.csv", text)
    result = read_boxes_csv(listing, images_dir=csv_dir / "images")
    assert [(i.path.name, i.width, i.height, len(i.boxes)) for i in result] == [
        ("b.png", 20, 10, 1),
        ("a.png", WIDTH, HEIGHT, 0),
    ]


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("images/a.png,40,30,helmet,1,2,21,22", "unknown label 'helmet'"),
        ("images/a.png,40,30,,1,2,21,22", "unknown label ''"),
        ("images/a.png,40,30,face,1,2,1,22", "zero-area box"),
        ("images/a.png,40,30,face,1,2,42,22", "outside the 40x30 image"),
        ("images/a.png,40,30,face,1,2,x,22", "xmax must be a number"),
        ("images/a.png,40,30,face,1,2,,22", "xmax must be a number"),
        ("images/a.png,40,x,face,1,2,21,22", "img_height must be a number"),
        ("images/a.png,40,0,face,1,2,21,22", "img_height must be a positive integer"),
        ("images/a.png,40.5,30,face,1,2,21,22", "img_width must be a positive integer"),
        ("images/a.png,40,31,face,1,2,21,22", "image size differs from line 2's"),
        ("images/a.png,40,30,face,1,2,21", "expected 8 fields, got 7"),
        ("/abs/a.png,40,30,face,1,2,21,22", "image path must be relative"),
        ("images/gone.png,40,30,face,1,2,21,22", "image not found"),
    ],
)
def test_csv_bad_row_names_file_and_line(csv_dir: Path, row: str, match: str) -> None:
    header = "path,img_width,img_height,label,xmin,ymin,xmax,ymax"
    text = f"{header}\nimages/a.png,40,30,face,1,1,5,5\n\n{row}\n"
    listing = write(csv_dir / "annotations.csv", text)
    with raises_at(listing, 4, match):
        read_boxes_csv(listing)


def test_csv_missing_image_is_reported_at_its_first_row(csv_dir: Path) -> None:
    text = "path,x,y,w,h\nimages/a.png,1,1,5,5\nimages/gone.png,1,1,5,5\nimages/gone.png,2,2,5,5\n"
    listing = write(csv_dir / "annotations.csv", text)
    with raises_at(listing, 3, "gone.png: image not found"):
        read_boxes_csv(listing)


def test_csv_size_disagreeing_with_image(csv_dir: Path) -> None:
    text = "path,width,height,x,y,w,h\nimages/a.png,30,40,1,1,5,5\n"
    listing = write(csv_dir / "annotations.csv", text)
    with raises_at(listing, 2, "annotation says 30x40 but image"):
        read_boxes_csv(listing)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty file"),
        ("path,x1,y1,x2,y2\n", "no rows after the header"),
        ("x1,y1,x2,y2\na.png,1,1,2,2\n", "missing column path"),
        ("path,label\na.png,face\n", "no box columns"),
        ("path,x1,y1,x2,y2,x,y,w,h\n", "ambiguous box columns"),
        ("path,xmin,ymin,xmax\n", "missing ymax"),
        ("path,img_width,x1,y1,x2,y2\n", "image size columns .* missing img_height"),
        ("path,path,x1,y1,x2,y2\n", "duplicate column names"),
    ],
)
def test_csv_bad_header(csv_dir: Path, text: str, match: str) -> None:
    listing = write(csv_dir / "annotations.csv", text)
    with raises_at(listing, 1, match):
        read_boxes_csv(listing)


def test_csv_malformed_quoting(csv_dir: Path) -> None:
    listing = write(csv_dir / "annotations.csv", 'path,x,y,w,h\n"images/a.png"x,1,1,5,5\n')
    with raises_at(listing, 2, "malformed CSV"):
        read_boxes_csv(listing)


def test_csv_unreadable(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        read_boxes_csv(tmp_path / "absent.csv")
    listing = tmp_path / "latin1.csv"
    listing.write_bytes(b"path,x,y,w,h\n\xe9.png,1,1,5,5\n")
    with raises_at(listing, 2, "not valid UTF-8"):
        read_boxes_csv(listing)


# --- WIDER FACE ----------------------------------------------------------------------


@pytest.fixture
def wider(tmp_path: Path) -> Path:
    images = tmp_path / "WIDER_train" / "images"
    make_image(images / "0--Parade" / "a.jpg")
    make_image(images / "0--Parade" / "b.jpg", (20, 10))
    make_image(images / "1--Handshaking" / "c.jpg")
    return images


WIDER_GOOD = """\
0--Parade/a.jpg
3
1 2 10 12 0 0 0 0 0 0
20 5 8 9 2 0 0 0 1 0
0 0 0 0 2 0 0 1 0 0
0--Parade/b.jpg
0
0 0 0 0 0 0 0 0 0 0

1--Handshaking/c.jpg
1
5 5 20 20
"""


def test_wider_reads_faces_and_skips_invalid(wider: Path, tmp_path: Path) -> None:
    gt = write(tmp_path / "wider_face_train_bbx_gt.txt", WIDER_GOOD)
    assert read_wider_face(gt, wider) == [
        AnnotatedImage(
            wider / "0--Parade/a.jpg",
            WIDTH,
            HEIGHT,
            (
                LabelledBox(1.0, 2.0, 11.0, 14.0, FACE_LABEL, None),
                LabelledBox(20.0, 5.0, 28.0, 14.0, FACE_LABEL, None),
            ),
        ),
        AnnotatedImage(wider / "0--Parade/b.jpg", 20, 10, ()),
        AnnotatedImage(
            wider / "1--Handshaking/c.jpg",
            WIDTH,
            HEIGHT,
            (LabelledBox(5.0, 5.0, 25.0, 25.0, FACE_LABEL, None),),
        ),
    ]


def test_wider_keep_invalid_checks_those_boxes_too(wider: Path, tmp_path: Path) -> None:
    gt = write(tmp_path / "gt.txt", WIDER_GOOD)
    with raises_at(gt, 5, "zero-area box"):
        read_wider_face(gt, wider, keep_invalid=True)


def test_wider_count_zero_without_placeholder(wider: Path, tmp_path: Path) -> None:
    gt = write(tmp_path / "gt.txt", "0--Parade/b.jpg\n0\n0--Parade/a.jpg\n1\n1 1 5 5\n")
    result = read_wider_face(gt, wider)
    assert [len(i.boxes) for i in result] == [0, 1]


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("0--Parade/gone.jpg\n0\n", 1, "gone.jpg: image not found"),
        ("0--Parade/a.jpg\nthree\n", 2, "expected the face count of 0--Parade/a.jpg"),
        ("0--Parade/a.jpg\n-1\n", 2, "expected the face count"),
        ("0--Parade/a.jpg\n", 1, "file ends before the face count"),
        ("0--Parade/a.jpg\n2\n1 1 5 5 0 0 0 0 0 0\n", 3, "file ends before face 2 of 2"),
        (
            "0--Parade/a.jpg\n2\n1 1 5 5 0 0 0 0 0 0\n0--Parade/b.jpg\n0\n",
            4,
            "face 2 of 2 of 0--Parade/a.jpg: expected 4 or 10 numbers",
        ),
        (
            "0--Parade/a.jpg\n1\n1 1 5 5 0 0 0 0 0 0\n2 2 5 5 0 0 0 0 0 0\n",
            4,
            r"expected an image path, got a face line \(more faces than the count on line 2\?\)",
        ),
        ("0--Parade/a.jpg\n1\n1 1 5\n", 3, "expected 4 or 10 numbers, got '1 1 5'"),
        ("0--Parade/a.jpg\n1\n1 1 0 5 0 0 0 0 0 0\n", 3, "zero-area box"),
        ("0--Parade/a.jpg\n1\n30 20 15 5 0 0 0 0 0 0\n", 3, "outside the 40x30 image"),
        ("0--Parade/b.jpg\n0\n0--Parade/b.jpg\n0\n", 3, "already listed on line 1"),
        ("../a.jpg\n0\n", 1, "image path must be relative"),
        ("\n\n", 1, "no images listed"),
    ],
)
def test_wider_bad_input_names_file_and_line(
    wider: Path, tmp_path: Path, text: str, line: int, match: str
) -> None:
    gt = write(tmp_path / "gt.txt", text)
    with raises_at(gt, line, match):
        read_wider_face(gt, wider)


# --- one entry point -----------------------------------------------------------------


def test_read_annotations_dispatches(voc: tuple[Path, Path], wider: Path, tmp_path: Path) -> None:
    ann, images = voc
    write(ann / "a.xml", voc_text())
    assert read_annotations(AnnotationFormat.VOC, ann, images_dir=images) == read_voc_dir(
        ann, images
    )
    listing = write(tmp_path / "boxes.csv", "path,x,y,w,h\nimages/a.png,1,1,5,5\n")
    assert read_annotations("csv", listing) == read_boxes_csv(listing)
    gt = write(tmp_path / "gt.txt", WIDER_GOOD)
    assert read_annotations("wider", gt, images_dir=wider) == read_wider_face(gt, wider)


def test_read_annotations_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt must be one of voc, csv, wider, got 'coco'"):
        read_annotations("coco", tmp_path)
    with pytest.raises(ValueError, match="images_dir is required for the voc format"):
        read_annotations(AnnotationFormat.VOC, tmp_path)
    with pytest.raises(ValueError, match="images_dir is required for the wider format"):
        read_annotations(AnnotationFormat.WIDER, tmp_path / "gt.txt")


# --- the real development sets (../shared/data/README.md sections 5 and 6) ------------


@pytest.mark.shared_data
def test_real_mask_set_voc_and_csv_agree(shared_data_dir: Path) -> None:
    root = shared_data_dir / "face_mask_detection_subset"
    voc_images = read_voc_dir(root / "annotations", root / "images")
    csv_images = read_boxes_csv(root / "annotations.csv")
    assert len(voc_images) == 105
    assert sum(len(i.boxes) for i in voc_images) == 120
    labels = Counter(b.source_label for i in voc_images for b in i.boxes)
    assert labels == Counter({"with_mask": 81, "without_mask": 39})
    assert {b.label for i in voc_images for b in i.boxes} == {FACE_LABEL}
    by_path = attrgetter("path")
    assert sorted(voc_images, key=by_path) == sorted(csv_images, key=by_path)


@pytest.mark.shared_data
def test_real_dlib_set_csv(shared_data_dir: Path) -> None:
    root = shared_data_dir / "dlib_pascal_faces_detection"
    images = read_boxes_csv(root / "annotations.csv")
    assert len(images) == 7
    assert sum(len(i.boxes) for i in images) == 34
    assert {(b.label, b.source_label) for i in images for b in i.boxes} == {(FACE_LABEL, None)}
    first = images[0]
    assert (first.path.name, first.width, first.height) == ("2007_007763.jpg", 500, 375)
    # annotations.csv row 2: x=194, y=90, w=37, h=37.
    assert first.boxes[0] == LabelledBox(194.0, 90.0, 231.0, 127.0, FACE_LABEL, None)

from __future__ import annotations

from pathlib import Path

import pytest
from numpy.testing import assert_array_equal

from facegate.bench.datasets import (
    LabelledImage,
    Pair,
    all_vs_all_pairs,
    read_labelled_folder,
    read_lfw_pairs,
    read_pairs_csv,
)
from facegate.errors import DatasetError

GOOD_LFW = "2\t1\nAl\t1\t2\nAl\t1\tBo\t3\nCy\t2\t4\nCy\t1\tDi\t10\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_read_lfw_pairs_good(tmp_path: Path) -> None:
    pairs = read_lfw_pairs(write(tmp_path / "pairs.txt", GOOD_LFW))
    img = tmp_path / "images"
    assert pairs == [
        Pair(img / "Al/Al_0001.jpg", img / "Al/Al_0002.jpg", True, 1),
        Pair(img / "Al/Al_0001.jpg", img / "Bo/Bo_0003.jpg", False, 1),
        Pair(img / "Cy/Cy_0002.jpg", img / "Cy/Cy_0004.jpg", True, 2),
        Pair(img / "Cy/Cy_0001.jpg", img / "Di/Di_0010.jpg", False, 2),
    ]


def test_read_lfw_pairs_spaces_trailing_blank_and_root(tmp_path: Path) -> None:
    text = GOOD_LFW.replace("\t", " ") + "\n\n"
    pairs = read_lfw_pairs(write(tmp_path / "p.txt", text), images_root=tmp_path / "x")
    assert len(pairs) == 4
    assert pairs[3].path_b == tmp_path / "x" / "Di" / "Di_0010.jpg"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty file"),
        ("2\nAl\t1\t2\n", 1, "header"),
        ("x\t1\nAl\t1\t2\n", 1, "number of folds"),
        ("1\t0\n", 1, "pairs per fold"),
        ("2\t1\nAl\t1\t2\nAl\t1\tBo\t3\n", 3, "promises 4"),  # too few lines
        (GOOD_LFW + "Ed\t1\t2\n", 6, "promises 4"),  # too many lines
        ("1\t2\nAl\t1\t2\nAl\t1\tBo\t3\nAl\t1\tBo\t4\n", 3, "3 fields"),  # count off
        ("1\t1\nAl\t1\t2\nAl\t1\tBo\n", 3, "4 fields"),
        ("1\t1\nAl\t1\tx\nAl\t1\tBo\t3\n", 2, "image number"),
        ("1\t1\nAl\t1\t2\nAl\t0\tBo\t3\n", 3, "image number"),
        ("1\t1\nAl\t-1\t2\nAl\t1\tBo\t3\n", 2, "image number"),
        ("1\t1\n..\t1\t2\nAl\t1\tBo\t3\n", 2, "person name"),
    ],
)
def test_read_lfw_pairs_malformed(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path / "pairs.txt", text)
    with pytest.raises(DatasetError, match=fragment) as exc:
        read_lfw_pairs(path)
    assert str(exc.value).startswith(f"{path}:{line}: ")


def test_read_lfw_pairs_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        read_lfw_pairs(tmp_path / "nope.txt")


def test_read_lfw_pairs_bad_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_bytes(b"1\t1\nAl\t1\t2\nA\xff\t1\tBo\t3\n")
    with pytest.raises(DatasetError, match=r"pairs\.txt:3: not valid UTF-8"):
        read_lfw_pairs(path)


def test_read_pairs_csv_deepface_style(tmp_path: Path) -> None:
    text = (
        "path_a,path_b,same,source\n"
        "images/a/1.jpg,images/a/2.jpg,1,m.csv\n"
        "\n"
        "images/a/1.jpg,images/b/1.jpg,False,m.csv\n"
        "images/b/1.jpg,images/b/2.jpg, YES ,m.csv\n"
        "images/b/1.jpg,images/c/2.jpg,no,m.csv\n"
    )
    pairs = read_pairs_csv(write(tmp_path / "set" / "pairs.csv", text))
    base = tmp_path / "set"
    assert [p.same for p in pairs] == [True, False, True, False]
    assert {p.fold for p in pairs} == {1}
    assert pairs[0].path_b == base / "images" / "a" / "2.jpg"


def test_read_pairs_csv_lfw_official_style(tmp_path: Path) -> None:
    text = (
        "fold,same,path_a,path_b\n1,1,images/A/A_0001.jpg,images/A/A_0002.jpg\n10,0,x.jpg,y.jpg\n"
    )
    pairs = read_pairs_csv(write(tmp_path / "official.csv", text))
    assert pairs == [
        Pair(tmp_path / "images/A/A_0001.jpg", tmp_path / "images/A/A_0002.jpg", True, 1),
        Pair(tmp_path / "x.jpg", tmp_path / "y.jpg", False, 10),
    ]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty file"),
        ("path_a,same\na.jpg,1\n", 1, "missing column"),
        ("path_a,path_b,same,same\na,b,1,1\n", 1, "duplicate column"),
        ("path_a,path_b,same\n", 1, "no pairs"),
        ("path_a,path_b,same\na.jpg,b.jpg,1\na.jpg,c.jpg,maybe\n", 3, "'same'"),
        ("path_a,path_b,same\na.jpg,b.jpg\n", 2, "expected 3 fields"),
        ("path_a,path_b,same\na.jpg,b.jpg,1,extra\n", 2, "expected 3 fields"),
        ("path_a,path_b,same\n/etc/a.jpg,b.jpg,1\n", 2, "path_a must be a relative"),
        ("path_a,path_b,same\na.jpg,../b.jpg,1\n", 2, "path_b must be a relative"),
        ("path_a,path_b,same\na.jpg,,1\n", 2, "path_b must be a relative"),
        ("fold,path_a,path_b,same\n1,a,b,1\n0,a,b,1\n", 3, "fold must be a positive"),
        ('path_a,path_b,same\n"a.jpg,b.jpg,1\n', 2, "malformed CSV"),
    ],
)
def test_read_pairs_csv_malformed(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path / "pairs.csv", text)
    with pytest.raises(DatasetError, match=fragment) as exc:
        read_pairs_csv(path)
    assert str(exc.value).startswith(f"{path}:{line}: ")


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_read_labelled_folder_subfolders(tmp_path: Path) -> None:
    for rel in ["bob/2.JPG", "bob/1.png", "alice/z.webp", "alice/a.jpeg", "carol/x.bmp"]:
        _touch(tmp_path / rel)
    for rel in ["bob/notes.txt", "bob/.hidden.jpg", ".cache/c.jpg", "loose.jpg"]:
        _touch(tmp_path / rel)
    images = read_labelled_folder(tmp_path)
    assert [(im.identity, im.path.relative_to(tmp_path).as_posix()) for im in images] == [
        ("alice", "alice/a.jpeg"),
        ("alice", "alice/z.webp"),
        ("bob", "bob/1.png"),
        ("bob", "bob/2.JPG"),
        ("carol", "carol/x.bmp"),
    ]


def test_read_labelled_folder_labels_csv(tmp_path: Path) -> None:
    write(tmp_path / "labels.csv", "path,identity,n\nimg/b1.jpg,B,1\nimg/a1.jpg,A,1\n")
    _touch(tmp_path / "Z" / "ignored.jpg")  # labels.csv takes precedence over folders
    assert read_labelled_folder(tmp_path) == [
        LabelledImage(tmp_path / "img/a1.jpg", "A"),
        LabelledImage(tmp_path / "img/b1.jpg", "B"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("path,name\na.jpg,A\n", 1, "missing column"),
        ("path,identity\na.jpg,A\nb.jpg, \n", 3, "empty identity"),
        ("path,identity\na.jpg,A\na.jpg,B\n", 3, "duplicate path"),
    ],
)
def test_read_labelled_folder_bad_labels(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path / "labels.csv", text)
    with pytest.raises(DatasetError, match=fragment) as exc:
        read_labelled_folder(tmp_path)
    assert str(exc.value).startswith(f"{path}:{line}: ")


def test_read_labelled_folder_empty_or_missing(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no images found"):
        read_labelled_folder(tmp_path)
    with pytest.raises(DatasetError, match="not a directory"):
        read_labelled_folder(tmp_path / "missing")


def test_all_vs_all_pairs() -> None:
    ids = ["A", "A", "B", "A"]
    images = [LabelledImage(Path(f"{k}.jpg"), ident) for k, ident in enumerate(ids)]
    i, j, same = all_vs_all_pairs(images)
    assert_array_equal(i, [0, 0, 0, 1, 1, 2])
    assert_array_equal(j, [1, 2, 3, 2, 3, 3])
    assert_array_equal(same, [True, False, True, False, True, False])
    assert same.dtype == bool
    for k in range(2):
        assert all_vs_all_pairs(images[:k])[0].size == 0


@pytest.mark.shared_data
def test_real_lfw_pairs_txt(shared_data_dir: Path) -> None:
    lfw = shared_data_dir / "lfw_deepfunneled_subset"
    pairs = read_lfw_pairs(lfw / "pairs.txt")
    assert len(pairs) == 1902
    assert sum(p.same for p in pairs) == 951
    assert all(p.same for p in pairs[:951])
    assert not any(p.same for p in pairs[951:])
    assert {p.fold for p in pairs} == {1}
    assert pairs[0].path_a == lfw / "images" / "Ahmed_Chalabi" / "Ahmed_Chalabi_0001.jpg"
    assert pairs[0].path_a.is_file()


@pytest.mark.shared_data
def test_real_lfw_official_csv_and_labels(shared_data_dir: Path) -> None:
    lfw = shared_data_dir / "lfw_deepfunneled_subset"
    pairs = read_pairs_csv(lfw / "pairs_official_view2_subset.csv")
    assert (len(pairs), sum(p.same for p in pairs)) == (1010, 1003)
    assert {p.fold for p in pairs} == set(range(1, 11))
    images = read_labelled_folder(lfw)
    assert (len(images), len({im.identity for im in images})) == (2439, 317)

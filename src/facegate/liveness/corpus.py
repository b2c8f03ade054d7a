"""The development corpus of passive PAD: bona fide faces of many cameras, real and
synthetic attacks, each tagged with the camera (domain) and person it came from.

Built from a data root laid out like ``../shared/data`` (whatever folders are present):

* ``lfw_deepfunneled_subset``: news photos (many cameras), bona fide, ``lfw``;
* ``deepface_unit_testset``: large uncropped photos, bona fide, ``deepface``;
* ``nuaa_photo_imposter_subset``: one webcam, live and real print attacks, ``nuaa``;
* scikit-image's astronaut, bona fide, ``package`` (always there).

Every bona fide photo also yields a :func:`~facegate.liveness.synthetic.recaptured_live`
copy and one synthetic attack, its species cycling through
:class:`~facegate.liveness.synthetic.SyntheticSpecies`, each seeded from the photo's path
so the corpus is the same on every run. A synthetic sample keeps the domain and subject of
its source, so holding out a camera or a person holds out everything made from them.
Silent-Face's three samples are never part of it: they are the smoke set.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np

from facegate.errors import DatasetError
from facegate.liveness.pad_metrics import BONA_FIDE
from facegate.liveness.synthetic import SyntheticSpecies, recaptured_live, synthesise
from facegate.vision.image import RGBImage, load_image

#: Sources are shrunk to this long side before synthesis (the deepface photos reach 4,000 px;
#: a kiosk frame is 640).
SOURCE_MAX_SIDE = 800
#: LFW photos used per person: 4 of up to 10 keeps the corpus a few thousand faces (a few
#: minutes of features on 2 cores) while every one of its 317 people is in it.
LFW_PER_PERSON = 4

#: A deep-funneling wedge: every channel at most this (JPEG leaves the black a little noisy).
FUNNEL_BLACK = 10
INPAINT_RADIUS = 5

LFW_DIR = "lfw_deepfunneled_subset"
DEEPFACE_DIR = "deepface_unit_testset"
NUAA_DIR = "nuaa_photo_imposter_subset"


class Domain(StrEnum):
    """The camera family a sample comes from (held out whole by the cross-camera test)."""

    LFW = "lfw"
    DEEPFACE = "deepface"
    NUAA = "nuaa"
    PACKAGE = "package"


#: The real print attacks' species (NUAA).
NUAA_PRINT = "print"


@dataclass(frozen=True, slots=True)
class CorpusSample:
    """One presentation: a photo on disk (or the package photo), maybe turned into an attack.

    ``species`` is :data:`BONA_FIDE` or an attack species; ``synthetic`` the species made
    from the bona fide ``path``; ``recaptured`` marks a bona fide copy through the camera model.
    """

    path: Path | None
    domain: Domain
    subject: str
    species: str
    synthetic: SyntheticSpecies | None = None
    recaptured: bool = False

    @property
    def bona_fide(self) -> bool:
        return self.species == BONA_FIDE

    @property
    def original(self) -> bool:
        """A photo as its camera took it (no medium, no camera model applied here)."""
        return self.synthetic is None and not self.recaptured

    @property
    def name(self) -> str:
        source = self.path.name if self.path is not None else "astronaut"
        kind = self.synthetic.value if self.synthetic else ("recaptured" if self.recaptured else "")
        return f"{self.domain.value}:{source}" + (f":{kind}" if kind else "")

    def load(self) -> RGBImage:
        """The presentation as the camera delivers it."""
        if self.path is None:
            from facegate.fixtures import astronaut

            image = astronaut()
        else:
            image = load_image(self.path, max_side=SOURCE_MAX_SIDE)
        if self.domain is Domain.LFW:
            image = fill_funnel_corners(image)
        if self.synthetic is None and not self.recaptured:
            return image
        rng = np.random.default_rng(_seed(self.name))
        if self.synthetic is not None:
            return synthesise(image, self.synthetic, rng)
        return recaptured_live(image, rng)


def fill_funnel_corners(image: RGBImage) -> RGBImage:
    """LFW's deep-funneled photos were warped by the aligner, leaving black wedges at the
    frame's edges that no camera makes; left in, a model learns "black corners: bona fide"
    (a tablet's bezel then passes). They are painted over from their surroundings. So is
    any other near-black region touching the edge (black clothes), in the bona fide photo
    and the attacks made from it alike."""
    dark = np.all(image <= FUNNEL_BLACK, axis=2).astype(np.uint8)
    count, labels = cv2.connectedComponents(dark, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    wedges = np.isin(labels, edge[edge > 0]) & (dark > 0)
    if count <= 1 or not wedges.any():
        return image
    mask = cv2.dilate(wedges.astype(np.uint8), np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(np.ascontiguousarray(image), mask, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    return np.asarray(filled, dtype=np.uint8)


def build_corpus(root: Path) -> list[CorpusSample]:
    """The corpus from the dataset folders under ``root`` that exist.

    Raises:
        DatasetError: ``root`` holds none of the known folders, or a listed image is missing.
    """
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    sources: list[CorpusSample] = []
    sources += _lfw(root / LFW_DIR)
    sources += _labelled(root / DEEPFACE_DIR, Domain.DEEPFACE)
    nuaa = _nuaa(root / NUAA_DIR)
    if not sources and not nuaa:
        raise DatasetError(f"{root}: none of {LFW_DIR}, {DEEPFACE_DIR}, {NUAA_DIR} found")
    sources += [s for s in nuaa if s.bona_fide]
    sources.append(CorpusSample(None, Domain.PACKAGE, "astronaut", BONA_FIDE))
    corpus: list[CorpusSample] = []
    species = list(SyntheticSpecies)
    for index, source in enumerate(sources):
        corpus.append(source)
        corpus.append(
            CorpusSample(source.path, source.domain, source.subject, BONA_FIDE, recaptured=True)
        )
        made = species[index % len(species)]
        corpus.append(
            CorpusSample(source.path, source.domain, source.subject, made.value, synthetic=made)
        )
    corpus += [s for s in nuaa if not s.bona_fide]
    return corpus


def _lfw(folder: Path) -> list[CorpusSample]:
    if not (folder / "labels.csv").is_file():
        return []
    taken: dict[str, int] = {}
    samples = []
    for row in _rows(folder):
        person = row["identity"]
        if taken.get(person, 0) >= LFW_PER_PERSON:
            continue
        taken[person] = taken.get(person, 0) + 1
        samples.append(CorpusSample(_image(folder, row), Domain.LFW, f"lfw:{person}", BONA_FIDE))
    return samples


def _labelled(folder: Path, domain: Domain) -> list[CorpusSample]:
    if not (folder / "labels.csv").is_file():
        return []
    return [
        CorpusSample(_image(folder, row), domain, f"{domain.value}:{row['identity']}", BONA_FIDE)
        for row in _rows(folder)
    ]


def _nuaa(folder: Path) -> list[CorpusSample]:
    if not (folder / "labels.csv").is_file():
        return []
    samples = []
    for row in _rows(folder):
        species = BONA_FIDE if row["label"] == "live" else NUAA_PRINT
        subject = f"nuaa:{row['subject']}"
        samples.append(CorpusSample(_image(folder, row), Domain.NUAA, subject, species))
    return samples


def _rows(folder: Path) -> Iterator[dict[str, str]]:
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _image(folder: Path, row: dict[str, str]) -> Path:
    path = folder / row["path"]
    if not path.is_file():
        raise DatasetError(f"{folder / 'labels.csv'}: image {row['path']!r} not found")
    return path


def _seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")

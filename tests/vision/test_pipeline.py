"""Both engines' pipelines on real photos: every stage's output, subject selection, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from facegate.errors import MultipleFacesError, NoFaceError
from facegate.fixtures import no_face
from facegate.matching import score
from facegate.models.registry import ModelRegistry
from facegate.vision.detect import CascadeDetector, HogDetector
from facegate.vision.embed import DlibResNetEmbedder
from facegate.vision.image import RGBImage, load_image
from facegate.vision.pipeline import FacePipeline, Selection, select_subject
from facegate.vision.record import Box, Face, QualityReason

# Where dlib's HOG puts the astronaut's face (pixels), measured once; a drift of a few
# pixels is a different dlib build, more is a bug.
ASTRONAUT_BOX = (179.0, 83.0, 267.0, 171.0)
# YuNet's box is taller: it takes in the forehead.
ASTRONAUT_BOX_YUNET = (178.0, 62.6, 268.4, 176.4)
#: Per engine (the pipeline fixture's name): the astronaut's box and the aligned chip's side.
EXPECTED = {
    "pipeline": (ASTRONAUT_BOX_YUNET, 112),
    "dlib_pipeline": (ASTRONAUT_BOX, 150),
}


def _same_face_threshold(pipeline: FacePipeline) -> float:
    """The door's threshold (FMR 1e-4) of the pipeline's model."""
    point = ModelRegistry.default().entry(pipeline.embedding_model).operating_points["fmr_1e-4"]
    return point.threshold


@pytest.mark.parametrize("engine", sorted(EXPECTED))
def test_every_stage_fills_its_field(
    request: pytest.FixtureRequest, engine: str, face_rgb: NDArray[np.uint8]
) -> None:
    pipeline: FacePipeline = request.getfixturevalue(engine)
    box, chip_side = EXPECTED[engine]
    face = pipeline.subject(face_rgb, Selection.SINGLE)
    assert face.box.as_list() == pytest.approx(box, abs=4.0)
    assert face.detection_score > 0.5
    assert face.landmarks is not None
    assert face.landmarks.shape == (5, 2)
    assert face.landmarks.dtype == np.float32
    inside = (
        (face.landmarks[:, 0] >= face.box.x1 - 5)
        & (face.landmarks[:, 0] <= face.box.x2 + 5)
        & (face.landmarks[:, 1] >= face.box.y1 - 5)
        & (face.landmarks[:, 1] <= face.box.y2 + 5)
    )
    assert inside.all()
    assert face.chip is not None
    assert face.chip.shape == (chip_side, chip_side, 3)
    assert face.chip.dtype == np.uint8
    assert face.quality is not None
    assert face.quality.passed, face.quality.reasons
    assert 0.0 < face.quality.score <= 1.0
    assert face.embedding is not None
    assert face.embedding.shape == (128,)
    assert face.embedding.dtype == np.float32
    assert np.isfinite(face.embedding).all()
    assert set(face.stage_seconds) == {"detect", "landmarks", "align", "quality", "embed"}


def test_embedding_is_deterministic(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    first = pipeline.subject(face_rgb, Selection.SINGLE).embedding
    second = pipeline.subject(face_rgb, Selection.SINGLE).embedding
    assert first is not None
    assert second is not None
    assert np.array_equal(first, second)


def test_mirrored_photo_embeds_close(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    original = pipeline.subject(face_rgb, Selection.SINGLE).embedding
    mirrored = pipeline.subject(np.ascontiguousarray(face_rgb[:, ::-1]), Selection.SINGLE)
    assert original is not None
    assert mirrored.embedding is not None
    assert mirrored.box.x1 == pytest.approx(512 - ASTRONAUT_BOX[2], abs=4.0)
    assert score(original, mirrored.embedding)[0, 0] > _same_face_threshold(pipeline)


def test_photo_without_face(pipeline: FacePipeline) -> None:
    with pytest.raises(NoFaceError):
        pipeline.subject(no_face(), Selection.LARGEST)
    assert pipeline.analyze(no_face()) == []


def test_two_people_are_refused_for_enrollment(pipeline: FacePipeline, face_rgb: RGBImage) -> None:
    pair = np.ascontiguousarray(np.concatenate([face_rgb, face_rgb], axis=1))
    with pytest.raises(MultipleFacesError, match="comparable size"):
        pipeline.subject(pair, Selection.SINGLE)


def test_largest_and_central_selection(pipeline: FacePipeline, face_rgb: RGBImage) -> None:
    # A small copy of the face on the left, the full-size photo on the right.
    small = np.asarray(Image.fromarray(face_rgb).resize((384, 384)))
    canvas = np.full((512, 1024, 3), 128, dtype=np.uint8)
    canvas[:384, :384] = small
    canvas[:, 512:] = face_rgb
    largest = pipeline.subject(canvas, Selection.LARGEST)
    assert largest.box.x1 > 512
    faces = pipeline.analyze(canvas)
    assert len(faces) >= 2
    central = select_subject(faces, 1024, 512, Selection.CENTRAL)
    centre_distances = [abs(f.box.center[0] - 512) for f in faces]
    assert abs(central.box.center[0] - 512) == min(centre_distances)


def test_select_subject_ignores_small_background_faces() -> None:
    big = Face(Box(100, 100, 300, 300), 1.0)
    small = Face(Box(0, 0, 60, 60), 2.0)
    assert select_subject([small, big], 640, 480, Selection.SINGLE) is big
    with pytest.raises(NoFaceError):
        select_subject([], 640, 480, Selection.LARGEST)


class _Fixed:
    def __init__(self, name: str, faces: list[Face]) -> None:
        self.name = name
        self.faces = faces
        self.calls = 0

    def detect(self, image: RGBImage) -> list[Face]:
        self.calls += 1
        return list(self.faces)


def test_cascade_stops_at_first_detector_that_finds(face_rgb: RGBImage) -> None:
    empty = _Fixed("first", [])
    finder = _Fixed("second", [Face(Box(1, 2, 3, 4), 0.5)])
    never = _Fixed("third", [Face(Box(5, 6, 7, 8), 0.9)])
    cascade = CascadeDetector([empty, finder, never])
    faces = cascade.detect(face_rgb)
    assert [f.box for f in faces] == [Box(1, 2, 3, 4)]
    assert (empty.calls, finder.calls, never.calls) == (1, 1, 0)
    assert cascade.last_used == "second"


def test_hog_upsampling_finds_small_faces(face_rgb: RGBImage) -> None:
    tiny = np.asarray(Image.fromarray(face_rgb).resize((200, 200)))  # face ~35 px wide
    assert HogDetector(upsample_schedule=(0,)).detect(tiny) == []
    assert len(HogDetector(upsample_schedule=(0, 1)).detect(tiny)) == 1


def test_large_images_are_detected_on_a_shrunk_copy(face_rgb: RGBImage) -> None:
    big = np.asarray(Image.fromarray(face_rgb).resize((2048, 2048)))
    faces = HogDetector().detect(big)
    assert faces  # best first; HOG may add a weak false positive on the suit
    expected = [v * 4 for v in ASTRONAUT_BOX]
    assert faces[0].box.as_list() == pytest.approx(expected, abs=24.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"upsample_schedule": ()}, "upsample_schedule"),
        ({"upsample_schedule": (0, 5)}, "upsample_schedule"),
        ({"max_side": 10}, "max_side"),
    ],
)
def test_hog_parameters_are_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HogDetector(**kwargs)  # type: ignore[arg-type]


def test_stage_needs_its_inputs(pipeline: FacePipeline, face_rgb: RGBImage) -> None:
    bare = Face(Box(*ASTRONAUT_BOX), 1.0)
    embedder = pipeline.stages[-1]
    with pytest.raises(ValueError, match="chip"):
        embedder.process(face_rgb, bare)


def test_flip_average_is_the_mean_of_both_views(
    dlib_pipeline: FacePipeline, registry: ModelRegistry, face_rgb: RGBImage
) -> None:
    pipeline = dlib_pipeline
    face = pipeline.subject(face_rgb, Selection.SINGLE)
    assert face.chip is not None
    assert face.embedding is not None
    mirror = Face(face.box, face.detection_score, chip=np.ascontiguousarray(face.chip[:, ::-1]))
    pipeline.stages[-1].process(face_rgb, mirror)
    assert mirror.embedding is not None
    averaged = Face(face.box, face.detection_score, chip=face.chip)
    DlibResNetEmbedder(registry, flip_average=True).process(face_rgb, averaged)
    assert averaged.embedding is not None
    expected = (face.embedding + mirror.embedding) / 2.0
    assert np.allclose(averaged.embedding, expected, atol=1e-6)
    with pytest.raises(ValueError, match="num_jitters"):
        DlibResNetEmbedder(registry, num_jitters=-1)


def test_cnn_fallback_finds_what_hog_misses(
    dlib_pipeline: FacePipeline, face_rgb: RGBImage
) -> None:
    pipeline = dlib_pipeline
    # The face, cropped and turned 50°: beyond HOG's frontal templates, within the CNN's.
    crop = np.ascontiguousarray(face_rgb[0:256, 95:351])
    turned = np.asarray(Image.fromarray(crop).rotate(50, center=(128, 127)))
    assert HogDetector().detect(turned) == []
    face = pipeline.subject(turned, Selection.LARGEST)
    assert isinstance(pipeline.detector, CascadeDetector)
    assert pipeline.detector.last_used == "mmod"
    assert face.box.as_list() == pytest.approx([63.0, 62.0, 178.0, 177.0], abs=6.0)
    assert face.quality is not None
    assert QualityReason.STRONG_ROLL in face.quality.reasons


def test_unknown_selection_is_refused() -> None:
    with pytest.raises(ValueError, match="nearest"):
        select_subject([Face(Box(0, 0, 10, 10), 1.0)], 100, 100, "nearest")  # type: ignore[arg-type]


def test_exif_rotated_photo_is_recognised(
    pipeline: FacePipeline, face_rgb: RGBImage, face_png: bytes
) -> None:
    # A camera held sideways: pixels stored rotated, EXIF orientation 8 says how to turn them.
    stored = Image.fromarray(face_rgb).transpose(Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = 8
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif, quality=95)
    upright = pipeline.subject(load_image(buffer.getvalue()), Selection.SINGLE)
    original = pipeline.subject(load_image(face_png), Selection.SINGLE)
    assert upright.box.as_list() == pytest.approx(original.box.as_list(), abs=6.0)
    assert upright.embedding is not None
    assert original.embedding is not None
    assert score(original.embedding, upright.embedding)[0, 0] > _same_face_threshold(pipeline)
    # Without honouring EXIF the stored pixels show a face lying on its side: no detection.
    assert HogDetector().detect(np.asarray(stored)) == []


def test_weak_false_positives_do_not_block_enrollment() -> None:
    face = Face(Box(100, 100, 200, 200), 1.5)
    weak_and_bigger = Face(Box(300, 300, 420, 420), 0.06)
    second_person = Face(Box(300, 100, 390, 190), 1.1)
    assert select_subject([face, weak_and_bigger], 640, 480, Selection.SINGLE) is face
    with pytest.raises(MultipleFacesError, match="2 faces"):
        select_subject([face, weak_and_bigger, second_person], 640, 480, Selection.SINGLE)


@pytest.mark.parametrize("selection", [Selection.LARGEST, Selection.CENTRAL])
def test_a_weak_false_detection_is_never_the_subject(selection: Selection) -> None:
    """At the gate the largest face wins: a larger, weak false detection (HOG found one on
    the astronaut's jacket) must not, or the enrolled person is denied."""
    face = Face(Box(100, 100, 200, 200), 1.5)
    weak_bigger_and_central = Face(Box(260, 180, 380, 300), 0.06)
    chosen = select_subject([face, weak_bigger_and_central], 640, 480, selection)
    assert chosen is face

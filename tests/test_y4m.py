"""``write_y4m``: the fake camera video for the browser tests (BT.601 full range, 4:2:0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate.fixtures import write_y4m

HEADER = b"YUV4MPEG2 W4 H2 F15:1 Ip A1:1 C420jpeg\n"


def test_writes_header_and_planes_for_each_frame(tmp_path: Path) -> None:
    white = np.full((2, 4, 3), 255, dtype=np.uint8)
    red = np.zeros((2, 4, 3), dtype=np.uint8)
    red[..., 0] = 255
    data = write_y4m(tmp_path / "v.y4m", [white, red]).read_bytes()
    assert data.startswith(HEADER)
    frames = data[len(HEADER) :].split(b"FRAME\n")[1:]
    assert [len(f) for f in frames] == [8 + 2 + 2, 8 + 2 + 2]
    # White: Y 255, U and V neutral 128.
    assert list(frames[0]) == [255] * 8 + [128, 128] + [128, 128]
    # Red: Y = 0.299 * 255 = 76.2, U = 128 - 0.168736 * 255 = 85.0, V = 255 (clipped 255.5).
    assert list(frames[1]) == [76] * 8 + [85, 85] + [255, 255]


def test_refuses_no_frames_odd_sizes_and_mixed_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        write_y4m(tmp_path / "a.y4m", [])
    with pytest.raises(ValueError, match="even"):
        write_y4m(tmp_path / "b.y4m", [np.zeros((3, 4, 3), dtype=np.uint8)])
    with pytest.raises(ValueError, match=r"\(2, 4, 3\) uint8"):
        write_y4m(
            tmp_path / "c.y4m",
            [np.zeros((2, 4, 3), dtype=np.uint8), np.zeros((2, 6, 3), dtype=np.uint8)],
        )

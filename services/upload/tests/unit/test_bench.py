"""The upload benchmark's measuring on tiny inputs, once: every stage timed (no timing assertions)."""

import io

from PIL import Image

from photolane_upload import bench, strictjpeg


def _small(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(out, fmt)
    return out.getvalue()


def test_measure_times_every_stage_of_every_input() -> None:
    photos = {"jpeg": _small("JPEG"), "png": _small("PNG"), "lying": bench.lying_jpeg()}
    table = bench.measure(photos, runs=1)
    assert list(table) == list(photos)
    for label, row in table.items():
        assert tuple(row) == bench.STAGES
        not_applying = {"strict"} if label == "png" or not strictjpeg.available() else set()
        for stage, cell in row.items():
            if stage in not_applying:
                assert cell is None
            else:
                assert cell is not None and cell[0] > 0, (label, stage)
    assert not any(cell[1] for cell in table["jpeg"].values() if cell)  # a good JPEG passes every stage
    assert table["lying"]["inspect_image"][1] and table["lying"]["structure"][1]  # refused at the walk
    assert len(photos["lying"]) == 633
    section = bench.report(photos, table, 1, "pytest", "title")
    assert "| jpeg | " in section and "whole / old" in section


def test_the_signin_report_gives_both_medians_and_their_ratio() -> None:
    times = {"email with photos": [10.0, 12.0, 11.0], "email without photos": [10.0, 11.0, 10.5]}
    section = bench.signin_report(times, "pytest")
    assert "| email with photos | 11.0 |" in section and "| email without photos | 10.5 |" in section
    assert "**1.05x**" in section and "3 requests of each kind" in section

"""The test session leaves the engine as it found it (issue 15): what it tags goes, the image cache stays."""

from __future__ import annotations

import harness


def _exists(reference: str) -> bool:
    return harness.docker("image", "inspect", reference, check=False).returncode == 0


def test_tags_the_session_gave_are_removed_and_kept_images_stay(engine):
    uv_image = harness.uv_binary_image()
    probe = "uvscope-test/cleanup-probe:session"
    harness.docker("tag", uv_image, probe)
    harness.docker("tag", uv_image, uv_image)  # a kept image, tagged again: never recorded
    assert probe in harness.CREATED and uv_image not in harness.CREATED
    removed = harness.remove_created_images()
    assert probe in removed and not _exists(probe)
    assert _exists(uv_image)
    assert probe not in harness.CREATED

"""Where an admin form goes back to (``next``): a path of this site, never another site, never a 500."""

import pytest

from photolane_upload.admin import _local

HOME = "/admin"


@pytest.mark.parametrize("asked", ["/admin/people", "/photos/abc?changed=1#faces", "/admin/unknown?cursor=eyJ9"])
def test_a_path_of_this_site_is_followed(asked: str) -> None:
    assert _local(asked, HOME) == asked


@pytest.mark.parametrize("asked", [
    None, "", "//evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/x", "/\\evil.example",
    "https://evil.example/", "javascript:alert(1)", "evil.example", "/\x00", "/\x7f", "/" + "a" * 3000,
])
def test_anything_else_goes_home(asked: str | None) -> None:
    assert _local(asked, HOME) == HOME

"""The whole pipeline, started the way `make run` starts it, driven over real HTTP."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image, ImageOps

from photolane.testing import exif_rotated, pixel_difference, wait_for

from .conftest import Running, fetch_image, finished, upload

pytestmark = pytest.mark.e2e


def test_uploaded_photo_is_processed_and_the_uploader_told(running: Running, faces_dir: Path) -> None:
    phone, email = f"+1415555{2000 + uuid.uuid4().int % 8000:04d}", f"{uuid.uuid4().hex[:8]}@example.com"
    original = (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes()
    answer = upload(running, original, email=email, phone=phone)
    assert answer.status_code == 202 and answer.json()["status"] == "queued"

    photo = finished(running, answer.json()["id"])
    assert photo["status"] == "processed", photo["error"]
    assert len(photo["faces"]) == 3
    assert all(face["person"] is None for face in photo["faces"])
    assert pixel_difference(fetch_image(photo["flipped_url"]), ImageOps.mirror(Image.open(io.BytesIO(original)))) < 3
    thumbnail = fetch_image(photo["thumbnail_url"])
    assert max(thumbnail.size) == 256 and thumbnail.format == "JPEG"
    assert requests.get(photo["results_url"], timeout=10).text.count("\n") == 4  # header + 3 faces

    def told() -> dict[str, Any] | None:
        record = requests.get(f"{running.url}/api/photos/{photo['id']}", timeout=10).json()
        statuses = {n["channel"]: n["status"] for n in record["notifications"]}
        return record if statuses == {"sms": "sent", "email": "sent"} else None

    record = wait_for(told, what="SMS and email")
    # The contacts are masked for whoever holds only the id; in full for the admin.
    assert phone not in str(record) and email not in str(record)
    admin = requests.get(f"{running.url}/api/photos/{photo['id']}", timeout=10,
                         headers={"Authorization": f"Bearer {running.admin_token}"}).json()
    assert {n["to"] for n in admin["notifications"]} == {phone, email}
    assert len([m for m in running.standin.sms() if m["phone_number"] == phone]) == 1
    emails = [m for m in running.standin.emails() if email in m["destinations"]["ToAddresses"]]
    assert len(emails) == 1 and photo["id"] in emails[0]["body"]
    outbox = (running.run_dir / "outbox" / "events.jsonl").read_text()
    assert photo["id"] in outbox


def test_portrait_stored_sideways_comes_out_upright(running: Running, faces_dir: Path) -> None:
    data = exif_rotated(faces_dir / "obama_2.jpg", 6)
    photo = finished(running, upload(running, data).json()["id"])
    assert photo["status"] == "processed"
    assert (photo["width"], photo["height"], len(photo["faces"])) == (626, 1200, 1)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert pixel_difference(fetch_image(photo["flipped_url"]), ImageOps.mirror(upright)) < 3


def test_corrupt_file_is_refused_and_the_service_keeps_serving(running: Running) -> None:
    refused = upload(running, b"\x89PNG\r\n\x1a\n this is no image", name="broken.png")
    assert refused.status_code == 400
    assert "not a readable image" in refused.json()["error"]
    bad_phone = upload(running, b"x", phone="12345")
    assert bad_phone.status_code == 400 and "E.164" in bad_phone.json()["error"]
    assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200


def test_undecodable_photo_ends_failed_and_the_pipeline_goes_on(running: Running, faces_dir: Path) -> None:
    import boto3

    whole = (faces_dir / "kit_harington_2.jpg").read_bytes()
    cut = whole[: len(whole) // 2]  # header intact, data cut
    refused = upload(running, cut)  # the upload service decodes it: refused at once
    assert refused.status_code == 400 and "does not decode" in refused.json()["error"]
    # Put straight into incoming/ it reaches the processor, which fails it and goes on.
    s3 = boto3.client("s3", endpoint_url=running.standin.url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    key = f"incoming/cut-{uuid.uuid4().hex[:8]}.jpg"
    s3.put_object(Bucket="photolane", Key=key, Body=cut)
    etag = s3.head_object(Bucket="photolane", Key=key)["ETag"].strip('"')
    photo_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://photolane/{key}#{etag}"))
    wait_for(lambda: requests.get(f"{running.url}/api/photos/{photo_id}", timeout=10).status_code == 200,
             what="a record for the dropped-in image")
    failed = finished(running, photo_id)
    assert failed["status"] == "failed"
    assert "cannot be decoded" in failed["error"]
    after = finished(running, upload(running, (faces_dir / "biden_2.jpg").read_bytes()).json()["id"])
    assert after["status"] == "processed" and len(after["faces"]) == 1


def test_browser_form_upload_shows_the_processed_photo(running: Running, faces_dir: Path) -> None:
    browser = requests.Session()  # the form's CSRF token is bound to the session cookie
    form = browser.get(running.url, timeout=10)
    assert form.status_code == 200 and 'type="file"' in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    photo = (faces_dir / "kit_harington_2.jpg").read_bytes()
    sent = browser.post(f"{running.url}/photos", files={"file": ("kit.jpg", photo)},
                        data={"email": "", "phone": "", "csrf_token": token}, allow_redirects=False, timeout=30)
    assert sent.status_code == 303
    page_url = running.url + sent.headers["Location"]

    def processed_page() -> str | None:
        text = requests.get(page_url, timeout=10).text
        return text if ">processed<" in text else None

    page = wait_for(processed_page, what="the page to show processed")
    assert "1 face found" in page
    for alt in ("The photo", "flipped", "thumbnail", "Face 1: unknown"):  # the original, with its faces boxed
        src = re.search(rf'<img[^>]* src="([^"]+)" alt="{alt}"', page).group(1).replace("&amp;", "&")
        assert fetch_image(src).format == "JPEG"


def test_admin_token_printed_at_start_is_the_one_the_service_takes(running: Running) -> None:
    url = f"{running.url}/api/admin/uploads"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    ok = requests.get(url, headers={"Authorization": f"Bearer {running.admin_token}"}, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"blocked": False}


def test_an_image_put_straight_into_incoming_is_processed(running: Running, faces_dir: Path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=running.standin.url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    key = "incoming/dropped in+1.jpg"
    s3.put_object(Bucket="photolane", Key=key, Body=(faces_dir / "biden_2.jpg").read_bytes())
    etag = s3.head_object(Bucket="photolane", Key=key)["ETag"].strip('"')
    photo_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://photolane/{key}#{etag}"))
    wait_for(lambda: requests.get(f"{running.url}/api/photos/{photo_id}", timeout=10).status_code == 200,
             what="a record for the dropped-in image")
    photo = finished(running, photo_id)
    assert photo["status"] == "processed" and photo["filename"] == "dropped in+1.jpg" and len(photo["faces"]) == 1

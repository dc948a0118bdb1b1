"""Chaos: photos through the running stack while the processor and the notifier are killed (-9).

``python -m photolane.local`` as `make run` starts it (its supervisor starts a killed worker again);
each photo has a phone and an email of its own. The notifier pauses after claiming the channels of
a few chosen recipients (``PHOTOLANE_FAULT_PAUSE_AFTER_CLAIM_SECONDS``, for tests only), so some
kills land exactly between a claim and its send. Afterwards: every photo processed, no phone or
address got two messages, every channel without its message says ``uncertain``, and no dead letters.
A few photos share one phone and one email (the notifier batches a recipient's photos of ``BATCH_WINDOW``
seconds): each of them is announced exactly once, in one message or few, never twice, kills or not.

``make chaos`` runs it with 100 photos (``PHOTOLANE_CHAOS_PHOTOS``) and prints the counts.
"""

from __future__ import annotations

import io
import os
import random
import re
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from PIL import Image

from .conftest import Running, launcher_children, started, upload

PHOTOS = int(os.environ.get("PHOTOLANE_CHAOS_PHOTOS", "30"))
PROCESSOR_KILLS = 3
NOTIFIER_KILLS = 3  # each while a claim is held, before its send
PAUSED = 2 * NOTIFIER_KILLS  # recipients the notifier pauses after claiming (one a photo)
LEASE, PAUSE, VISIBILITY = 15, 3, 6
BATCH_WINDOW, BATCHED = 8, 4  # the batch window (s); photos for the batch's phone and email (uploaded first)
BATCH_PHONE, BATCH_EMAIL = "+14155552671", "chaos-batch@example.com"

pytestmark = pytest.mark.e2e


def _image(n: int) -> bytes:
    """Noise, big enough that a processor is mostly busy (a kill lands mid-job), small enough to be quick."""
    out = io.BytesIO()
    Image.frombytes("RGB", (640, 480), random.Random(n).randbytes(640 * 480 * 3)).save(out, "JPEG", quality=80)
    return out.getvalue()


def _kill(running: Running, module: str) -> bool:
    pids = launcher_children(running.launcher.pid, module)
    if not pids:
        return False  # between a death and its restart
    os.kill(random.choice(pids), signal.SIGKILL)
    return True


def _photo(running: Running, photo_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {running.admin_token}"}
    return requests.get(f"{running.url}/api/photos/{photo_id}", headers=headers, timeout=10).json()


def _settled(photo: dict[str, Any]) -> bool:
    return photo["status"] == "processed" and len(photo["notifications"]) == 2 and \
        all(n["status"] not in ("sending", "batched") for n in photo["notifications"])


def _pauses(running: Running) -> int:
    """How often the notifier has paused after a claim (its log): each pause is a claim held, unsent."""
    log = running.run_dir / "logs" / "notifier.log"
    return log.read_text().count('"event": "fault.pause_after_claim"') if log.exists() else 0


def _announced(photo_id: str, messages: list[str]) -> int:
    """In how many of these messages a photo is: its own link, or its gallery's line with several."""
    return sum(photo_id in text for text in messages)


def _admin_page(running: Running) -> str:
    session = requests.Session()
    form = session.get(f"{running.url}/admin", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = session.post(f"{running.url}/admin/login", data={"token": running.admin_token, "csrf_token": token},
                          timeout=10)
    assert answer.ok
    return session.get(f"{running.url}/admin", timeout=10).text


def test_nothing_lost_nothing_twice_under_kill_9(tmp_path_factory: pytest.TempPathFactory) -> None:
    phones = [f"+1415555{1000 + n:04d}" for n in range(PHOTOS)]
    emails = [f"chaos-{n}@example.com" for n in range(PHOTOS)]
    phones[:BATCHED], emails[:BATCHED] = [BATCH_PHONE] * BATCHED, [BATCH_EMAIL] * BATCHED
    # Photos 5, 10, 15 …: the notifier pauses after claiming their email (odd) or SMS (even).
    paused = [emails[n] if i % 2 else phones[n] for i, n in enumerate(range(5, 5 * (PAUSED + 1), 5)) if n < PHOTOS]
    env = {
        "PHOTOLANE_PROCESSORS": "2",
        "PHOTOLANE_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY),
        "PHOTOLANE_POLL_WAIT_SECONDS": "2",
        "PHOTOLANE_DELIVERY_LEASE_SECONDS": str(LEASE),
        "PHOTOLANE_SEND_CONNECT_TIMEOUT_SECONDS": "1",
        "PHOTOLANE_SEND_READ_TIMEOUT_SECONDS": "3",
        "PHOTOLANE_FAULT_PAUSE_AFTER_CLAIM_SECONDS": str(PAUSE),
        "PHOTOLANE_FAULT_PAUSE_AFTER_CLAIM_TO": "^(" + "|".join(re.escape(to) for to in paused) + ")$",
        "PHOTOLANE_RECONCILE_INTERVAL_SECONDS": "5",
        "PHOTOLANE_RECONCILE_AFTER_SECONDS": "45",
        "PHOTOLANE_UPLOADS_PER_CLIENT_HOUR": "100000",
        "PHOTOLANE_UNKNOWN_LINE_NUMBERS_PER_CLIENT_HOUR": "100000",  # a different US number each, from one client
        "PHOTOLANE_BATCH_WINDOW_SECONDS": str(BATCH_WINDOW),
    }
    errors = ("message.failed", "notification.late", "worker.tick_failed")
    with started(tmp_path_factory, expected_errors=errors, **env) as running:
        started_at = time.monotonic()
        pool = ThreadPoolExecutor(4)  # uploads go on while the kills begin
        uploads = [pool.submit(upload, running, _image(n), f"chaos-{n}.jpg", phone=phones[n], email=emails[n])
                   for n in range(PHOTOS)]
        kills = Counter()
        pauses_seen = 0  # the notifier's pauses after a claim so far: a new one is a claim held, to kill in
        deadline = time.monotonic() + 240
        next_processor_kill = time.monotonic() + 1
        while time.monotonic() < deadline:
            now = time.monotonic()
            if kills["processor"] < PROCESSOR_KILLS and now >= next_processor_kill:
                if _kill(running, "photolane_processor"):
                    kills["processor"] += 1
                next_processor_kill = now + 3
            # Batched or not, a claim is never visible as "sending" on the photo for long: the pause's log line is.
            if kills["notifier"] < NOTIFIER_KILLS and _pauses(running) > pauses_seen:
                pauses_seen = _pauses(running)
                if _kill(running, "photolane_notifier"):  # between its claim and its send
                    kills["notifier"] += 1
            if kills["processor"] >= PROCESSOR_KILLS and (kills["notifier"] >= NOTIFIER_KILLS or
                                                          pauses_seen >= len(paused)) and \
                    all(u.done() for u in uploads):
                photos = [_photo(running, u.result().json()["id"]) for u in uploads]
                if all(_settled(p) for p in photos):
                    break
            time.sleep(0.2)
        pool.shutdown()
        answers = [u.result() for u in uploads]
        assert all(a.status_code == 202 for a in answers), [a.text for a in answers if a.status_code != 202][:3]
        photos = [_photo(running, a.json()["id"]) for a in answers]
        elapsed = time.monotonic() - started_at
        retried = sum('"receive_count": 1' not in line for log in running.run_dir.glob("logs/processor-*.log")
                      for line in log.read_text().splitlines() if '"event": "message.received"' in line)

        sms = Counter(m["phone_number"] for m in running.standin.sms())
        mails = Counter(to for m in running.standin.emails() for to in m["destinations"]["ToAddresses"])
        statuses = Counter(n["status"] for p in photos for n in p["notifications"])
        queues = requests.get(f"{running.url}/api/admin/queues", timeout=10,
                              headers={"Authorization": f"Bearer {running.admin_token}"}).json()["queues"]
        dead = {q["name"]: q["dead_letters"] for q in queues}
        admin = _admin_page(running)
        print(f"\nchaos: {PHOTOS} photos in {elapsed:.0f} s; killed processor {kills['processor']}x, "
              f"notifier {kills['notifier']}x (each between claim and send); "
              f"jobs taken again after a kill: {retried}")
        print(f"chaos: photos {dict(Counter(p['status'] for p in photos))}; notifications {dict(statuses)}")
        print(f"chaos: SMS {sum(sms.values())} to {len(sms)} phones (most to one: {max(sms.values(), default=0)}); "
              f"emails {sum(mails.values())} to {len(mails)} addresses (most to one: {max(mails.values(), default=0)})")
        print(f"chaos: dead letters {dead}")

        assert kills["processor"] == PROCESSOR_KILLS and kills["notifier"] >= 2, kills
        assert [p["id"] for p in photos if p["status"] != "processed"] == []
        batch_sms = [m["message"] for m in running.standin.sms() if m["phone_number"] == BATCH_PHONE]
        batch_mails = [m["body"] for m in running.standin.emails() if BATCH_EMAIL in m["destinations"]["ToAddresses"]]
        print(f"chaos: {BATCHED} photos for one phone and email: {len(batch_sms)} SMS, {len(batch_mails)} emails")
        del sms[BATCH_PHONE], mails[BATCH_EMAIL]
        assert max(sms.values()) == 1 and max(mails.values()) == 1  # nothing twice
        # The batch: each photo in exactly one email (which lists each photo's link), together in fewer
        # messages than photos; the SMS (a line with the count, or one photo's link) as many photos, once each.
        assert [_announced(p["id"], batch_mails) for p in photos[:BATCHED]] == [1] * BATCHED
        assert len(batch_mails) < BATCHED and len(batch_sms) < BATCHED
        counted = [int(m.group(1)) if (m := re.search(r"(\d+) photos", text)) else 1 for text in batch_sms]
        assert sum(counted) == BATCHED
        assert {n["status"] for p in photos[:BATCHED] for n in p["notifications"]} == {"sent"}
        shared = [n for p in photos[:BATCHED] for n in p["notifications"] if n["note"]]  # "in one message with …"
        assert len(shared) >= 4  # at least two photos in one SMS, and two in one email
        for photo, phone, email in list(zip(photos, phones, emails, strict=True))[BATCHED:]:
            got = {"sms": sms[phone], "email": mails[email]}
            for note in photo["notifications"]:
                if not got[note["channel"]]:  # nothing lost but what is marked uncertain
                    assert note["status"] == "uncertain", (photo["id"], note)
            assert {n["status"] for n in photo["notifications"]} <= {"sent", "uncertain"}, photo
        assert statuses["uncertain"] >= kills["notifier"] >= 2  # each killed claim, never sent again
        assert dead == {"jobs": 0, "notifications": 0}
        assert f'{statuses["uncertain"]} notification' in admin

"""The AWS call recorder (photolane_common.audit): operation → IAM action and resource, and the hook on
every botocore session, pynamodb's own included. No AWS: botocore's Stubber answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from photolane_common import audit
from photolane_common.audit import Need, needs

R, A = "us-east-1", "123456789012"


# -- operation → action and resource --------------------------------------------------------------------
@pytest.mark.parametrize(("operation", "params", "expected"), [
    ("GetObject", {"Bucket": "b", "Key": "thumbs/1.jpg"}, [Need("s3:GetObject", "arn:aws:s3:::b/thumbs/1.jpg")]),
    ("HeadObject", {"Bucket": "b", "Key": "k"}, [Need("s3:GetObject", "arn:aws:s3:::b/k")]),
    ("GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v"}, [Need("s3:GetObjectVersion", "arn:aws:s3:::b/k")]),
    ("PutObject", {"Bucket": "b", "Key": "originals/x"}, [Need("s3:PutObject", "arn:aws:s3:::b/originals/x")]),
    ("UploadPart", {"Bucket": "b", "Key": "k", "PartNumber": 1}, [Need("s3:PutObject", "arn:aws:s3:::b/k")]),
    ("ListObjectsV2", {"Bucket": "b", "Prefix": "people/"},
     [Need("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "people/"})]),
    ("ListObjects", {"Bucket": "b"}, [Need("s3:ListBucket", "arn:aws:s3:::b")]),
    ("HeadBucket", {"Bucket": "b"}, [Need("s3:ListBucket", "arn:aws:s3:::b")]),
    ("PutBucketNotificationConfiguration", {"Bucket": "b"}, [Need("s3:PutBucketNotification", "arn:aws:s3:::b")]),
    ("ListBuckets", {}, [Need("s3:ListAllMyBuckets", "*")]),
    ("CopyObject", {"Bucket": "b", "Key": "new", "CopySource": "src/old%20name.jpg?versionId=1"},
     [Need("s3:PutObject", "arn:aws:s3:::b/new"), Need("s3:GetObject", "arn:aws:s3:::src/old name.jpg")]),
    ("DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}},
     [Need("s3:DeleteObject", "arn:aws:s3:::b/x"), Need("s3:DeleteObject", "arn:aws:s3:::b/y")]),
])
def test_s3_calls_need_object_or_bucket_actions(operation: str, params: dict, expected: list[Need]) -> None:
    assert needs("s3", operation, params, region=R) == expected


def test_dynamodb_calls_name_their_table_or_index() -> None:
    table = f"arn:aws:dynamodb:{R}:*:table"
    assert needs("dynamodb", "PutItem", {"TableName": "s", "Item": {}}, region=R) == \
        [Need("dynamodb:PutItem", f"{table}/s")]
    assert needs("dynamodb", "Query", {"TableName": "p", "IndexName": "owner-created"}, region=R) == \
        [Need("dynamodb:Query", f"{table}/p/index/owner-created")]
    assert needs("dynamodb", "Query", {"TableName": "p"}, region=R) == [Need("dynamodb:Query", f"{table}/p")]
    assert needs("dynamodb", "BatchGetItem", {"RequestItems": {"a": {}, "b": {}}}, region=R) == \
        [Need("dynamodb:BatchGetItem", f"{table}/a"), Need("dynamodb:BatchGetItem", f"{table}/b")]
    assert needs("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}}, {"ConditionCheck": {"TableName": "c"}}]},
        region=R) == [Need("dynamodb:PutItem", f"{table}/a"), Need("dynamodb:UpdateItem", f"{table}/b"),
                      Need("dynamodb:ConditionCheckItem", f"{table}/c")]
    assert needs("dynamodb", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "a"}}]}, region=R) == \
        [Need("dynamodb:GetItem", f"{table}/a")]
    assert needs("dynamodb", "ListTables", {}, region=R) == [Need("dynamodb:ListTables", "*")]


def test_sqs_calls_name_the_queue_of_their_url_or_name() -> None:
    url = f"http://127.0.0.1:4566/{A}/photolane-jobs"
    assert needs("sqs", "ReceiveMessage", {"QueueUrl": url}, region=R) == \
        [Need("sqs:ReceiveMessage", f"arn:aws:sqs:{R}:{A}:photolane-jobs")]
    assert needs("sqs", "SendMessageBatch", {"QueueUrl": url, "Entries": []}, region=R) == \
        [Need("sqs:SendMessage", f"arn:aws:sqs:{R}:{A}:photolane-jobs")]
    assert needs("sqs", "DeleteMessageBatch", {"QueueUrl": url}, region=R)[0].action == "sqs:DeleteMessage"
    assert needs("sqs", "ChangeMessageVisibilityBatch", {"QueueUrl": url}, region=R)[0].action == \
        "sqs:ChangeMessageVisibility"
    assert needs("sqs", "GetQueueUrl", {"QueueName": "photolane-jobs"}, region=R) == \
        [Need("sqs:GetQueueUrl", f"arn:aws:sqs:{R}:*:photolane-jobs")]
    assert needs("sqs", "GetQueueUrl", {"QueueName": "q-dlq", "QueueOwnerAWSAccountId": A}, region=R) == \
        [Need("sqs:GetQueueUrl", f"arn:aws:sqs:{R}:{A}:q-dlq")]
    aws_url = f"https://sqs.{R}.amazonaws.com/{A}/Photolane-DataJobsQueue-AB12"
    assert audit.queue_arn(aws_url, R) == f"arn:aws:sqs:{R}:{A}:Photolane-DataJobsQueue-AB12"


def test_sns_publishes_to_a_topic_or_to_a_phone_number_which_has_no_arn() -> None:
    topic = f"arn:aws:sns:{R}:{A}:photolane-events"
    assert needs("sns", "Publish", {"TopicArn": topic, "Message": "m"}, region=R) == [Need("sns:Publish", topic)]
    assert needs("sns", "Publish", {"PhoneNumber": "+14155550123", "Message": "m"}, region=R) == \
        [Need("sns:Publish", "*", note="phone number")]
    assert needs("sns", "PublishBatch", {"TopicArn": topic}, region=R) == [Need("sns:Publish", topic)]


def test_ses_needs_the_sender_and_recipient_identities_and_gives_the_from_address() -> None:
    params = {"Source": "photolane <photolane@example.com>",
              "Destination": {"ToAddresses": ["me@example.com"], "BccAddresses": ["photolane@example.com"]}}
    got = needs("ses", "SendEmail", params, region=R)
    context = {"ses:FromAddress": "photolane@example.com"}
    assert got == [Need("ses:SendEmail", f"arn:aws:ses:{R}:*:identity/photolane@example.com", context),
                   Need("ses:SendEmail", f"arn:aws:ses:{R}:*:identity/me@example.com", context)]
    raw = needs("ses", "SendRawEmail", {"Source": "a@example.com", "Destinations": ["b@example.com"]}, region=R)
    assert [n.resource.rsplit("/", 1)[1] for n in raw] == ["a@example.com", "b@example.com"]
    v2 = needs("sesv2", "SendEmail", {"FromEmailAddress": "a@example.com",
                                     "Destination": {"ToAddresses": ["b@example.com"]}}, region=R)
    assert {n.action for n in v2} == {"ses:SendEmail"} and v2[0].context == {"ses:FromAddress": "a@example.com"}
    assert needs("ses", "VerifyEmailIdentity", {"EmailAddress": "a@example.com"}, region=R) == \
        [Need("ses:VerifyEmailIdentity", "*")]


def test_other_services_get_their_iam_prefix_and_any_resource() -> None:
    assert needs("secretsmanager", "GetSecretValue", {"SecretId": "x"}) == [Need("secretsmanager:GetSecretValue", "*")]
    assert needs("sesv3", "Send", {}, prefix="ses") == [Need("ses:Send", "*")]


# -- the recorder --------------------------------------------------------------------------------------
@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": R, "AWS_REGION": R}.items():
        monkeypatch.setenv(key, value)
    assert audit.install_from_env("notifier", {audit.ENV: str(tmp_path)}) is not None
    yield tmp_path / "notifier.jsonl"
    audit.uninstall()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_nothing_is_installed_without_the_variable_or_for_another_process() -> None:
    assert audit.install_from_env("upload", {}) is None
    assert audit.install_from_env("resources", {audit.ENV: "/tmp/x"}) is None


def test_boto3_calls_and_presigned_urls_are_recorded_once_each(recording: Path) -> None:
    s3 = boto3.session.Session().client("s3", region_name=R)
    with Stubber(s3) as stub:
        stub.add_response("put_object", {}, {"Bucket": "photolane", "Key": "flipped/1.jpg", "Body": b"x"})
        stub.add_response("put_object", {}, {"Bucket": "photolane", "Key": "flipped/1.jpg", "Body": b"x"})
        s3.put_object(Bucket="photolane", Key="flipped/1.jpg", Body=b"x")
        s3.put_object(Bucket="photolane", Key="flipped/1.jpg", Body=b"x")  # the same need: one line
    s3.generate_presigned_url("get_object", Params={"Bucket": "photolane", "Key": "thumbs/1.jpg"})
    assert _lines(recording) == [
        {"service": "notifier", "aws": "s3", "operation": "PutObject", "action": "s3:PutObject",
         "resource": "arn:aws:s3:::photolane/flipped/1.jpg"},
        {"service": "notifier", "aws": "s3", "operation": "GetObject", "action": "s3:GetObject",
         "resource": "arn:aws:s3:::photolane/thumbs/1.jpg", "presigned": True},
    ]


class Thing(Model):
    class Meta:
        table_name = "photolane-settings"
        region = R

    key = UnicodeAttribute(hash_key=True)


def test_pynamodb_calls_through_its_own_session_are_recorded_even_when_refused(recording: Path) -> None:
    Thing._connection = None
    client = Thing._get_connection().connection.client  # made now, from a botocore session of pynamodb's
    with Stubber(client) as stub:
        stub.add_client_error("put_item", "ConditionalCheckFailedException")
        with pytest.raises(Exception, match="ConditionalCheckFailed"):
            Thing("claim:1").save(condition=Thing.key.does_not_exist())
    Thing._connection = None
    assert _lines(recording) == [{"service": "notifier", "aws": "dynamodb", "operation": "PutItem",
                                  "action": "dynamodb:PutItem", "resource": f"arn:aws:dynamodb:{R}:*:table/"
                                                                            "photolane-settings"}]


def test_a_recording_problem_never_fails_the_call(recording: Path) -> None:
    recorder = audit.Recorder("upload", recording.parent / "upload.jsonl")

    class Broken:
        name = "GetObject"
        service_model = None  # no service_name: the record fails, the call goes on

    recorder.on_call(params={}, model=Broken())
    assert not (recording.parent / "upload.jsonl").exists()

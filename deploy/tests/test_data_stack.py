"""Smoke test: the data layer's template, created by CloudFormation on the AWS stand-in (moto server
over HTTP), gives a bucket, queues with dead-letter queues, tables and a topic that really exist."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App, Environment

from photolane.standin import STANDIN_ENV, StandInClient
from photolane.testing import wait_for
from photolane_common.models import FaceModel, PersonModel, PhotoModel
from photolane_common.resources import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT
from photolane_deploy.app import FEATURE_FLAGS
from photolane_deploy.stack import DataStack


@pytest.fixture(scope="module")
def deployed(standin: StandInClient) -> dict[str, Any]:
    name = f"photolane-smoke-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as outdir:
        app = App(context=FEATURE_FLAGS, outdir=outdir, analytics_reporting=False)
        stack = DataStack(app, name, env=Environment(region=STANDIN_ENV["AWS_REGION"]))
        template = Path(app.synth().get_stack_artifact(stack.artifact_id).template_full_path).read_text()
    session = boto3.Session(aws_access_key_id=STANDIN_ENV["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=STANDIN_ENV["AWS_SECRET_ACCESS_KEY"],
                            region_name=STANDIN_ENV["AWS_REGION"])
    cloudformation = session.client("cloudformation", endpoint_url=standin.url)
    cloudformation.create_stack(StackName=name, TemplateBody=template)
    status = wait_for(lambda: (s := cloudformation.describe_stacks(StackName=name)["Stacks"][0])["StackStatus"]
                      not in ("CREATE_IN_PROGRESS",) and s, timeout=60, what=f"stack {name}")
    assert status["StackStatus"] == "CREATE_COMPLETE", status
    outputs = {o["OutputKey"]: o["OutputValue"] for o in status["Outputs"]}
    return {"outputs": outputs, "client": lambda service: session.client(service, endpoint_url=standin.url)}


def test_the_bucket_exists_encrypted(deployed: dict[str, Any]) -> None:
    s3 = deployed["client"]("s3")
    bucket = deployed["outputs"]["Bucket"]
    assert bucket.startswith("photolane-smoke-") and bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


@pytest.mark.parametrize(("output", "kind"), [("JobsQueue", "jobs"), ("NotificationsQueue", "notifications")])
def test_queues_exist_with_their_dead_letter_queues(deployed: dict[str, Any], output: str, kind: str) -> None:
    sqs = deployed["client"]("sqs")
    url = sqs.get_queue_url(QueueName=deployed["outputs"][output])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attributes["VisibilityTimeout"]) == VISIBILITY_TIMEOUT[kind]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT
    dead_letters = redrive["deadLetterTargetArn"].split(":")[-1]
    assert sqs.get_queue_url(QueueName=dead_letters)["QueueUrl"]  # the dead-letter queue exists too


def test_tables_exist_with_the_models_keys(deployed: dict[str, Any]) -> None:
    dynamodb = deployed["client"]("dynamodb")
    photos = dynamodb.describe_table(TableName=deployed["outputs"]["PhotosTable"])["Table"]
    assert photos["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert {i["IndexName"] for i in photos["GlobalSecondaryIndexes"]} == {
        PhotoModel.owner_index.Meta.index_name, PhotoModel.unknown_index.Meta.index_name,
        PhotoModel.pending_index.Meta.index_name, PhotoModel.uncertain_index.Meta.index_name,
        PhotoModel.collection_index.Meta.index_name, PhotoModel.created_index.Meta.index_name}
    assert photos["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    people = dynamodb.describe_table(TableName=deployed["outputs"]["PeopleTable"])["Table"]
    assert {i["IndexName"] for i in people["GlobalSecondaryIndexes"]} == {
        PersonModel.name_index.Meta.index_name, PersonModel.collection_index.Meta.index_name}
    for output in ("PeopleTable", "SettingsTable", "FacesTable", "CollectionsTable"):
        assert dynamodb.describe_table(TableName=deployed["outputs"][output])["Table"]["TableStatus"] == "ACTIVE"
    faces = dynamodb.describe_table(TableName=deployed["outputs"]["FacesTable"])["Table"]
    assert faces["KeySchema"] == [{"AttributeName": FaceModel.group.attr_name, "KeyType": "HASH"},
                                  {"AttributeName": FaceModel.face.attr_name, "KeyType": "RANGE"}]


def test_the_events_topic_exists(deployed: dict[str, Any]) -> None:
    sns = deployed["client"]("sns")
    # Every page: the session's other tests made topics too, and SNS lists 100 a page.
    topics = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for t in page["Topics"]]
    assert [t for t in topics if t.endswith(f":{deployed['outputs']['EventsTopic']}")]

"""The evaluation of the task roles' statements (policy.py): local names for the template's resources,
intrinsic functions, wildcards and conditions, and the grant a refused call is told to add."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import Synthesized
from .policy import (
    Call,
    Unresolved,
    allowing,
    conditions_hold,
    grants,
    local_resources,
    normalize,
    resolve,
    role_statements,
    suggestion,
    wildcard,
)

ARN = {"Fn::GetAtt": ["SettingsTable", "Arn"]}


def _template(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """A task definition whose container names two resources, and a policy on its role."""
    environment = [
        {"Name": "PHOTOLANE_SETTINGS_TABLE", "Value": {"Ref": "SettingsTable"}},
        {"Name": "PHOTOLANE_JOBS_QUEUE", "Value": {"Fn::GetAtt": ["JobsQueue", "QueueName"]}},
        {"Name": "PHOTOLANE_BUCKET", "Value": {"Ref": "Bucket"}},
        {"Name": "PHOTOLANE_EVENTS_TOPIC_ARN", "Value": {"Ref": "Topic"}},
        {"Name": "PHOTOLANE_LOG_LEVEL", "Value": "INFO"},
    ]
    return {"Resources": {
        "SettingsTable": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "JobsQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["JobsDead", "Arn"]}}}},
        "JobsDead": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "TaskRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "ContainerDefinitions": [{"Name": "notifier", "Environment": environment}]}},
        "Policy": {"Type": "AWS::IAM::Policy", "Properties": {
            "Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": statements}}},
    }}


def test_the_containers_settings_give_the_local_names_and_dead_letter_queues_follow_the_redrive() -> None:
    found = local_resources(_template([]))
    assert {k: (v.name, v.hint) for k, v in found.items()} == {
        "SettingsTable": ("photolane-settings", "data.settings_table"),
        "JobsQueue": ("photolane-jobs", "data.jobs.queue"),
        "JobsDead": ("photolane-jobs-dlq", "data.jobs.dead_letters"),
        "Bucket": ("photolane", "data.bucket"),
        "Topic": ("photolane-events", "data.events_topic"),
    }


def test_refs_getatts_and_joins_evaluate_as_for_the_local_run() -> None:
    found = local_resources(_template([]))
    assert resolve(ARN, found) == "arn:aws:dynamodb:us-east-1:123456789012:table/photolane-settings"
    assert resolve({"Ref": "SettingsTable"}, found) == "photolane-settings"
    assert resolve({"Fn::GetAtt": ["JobsDead", "Arn"]}, found) == \
        "arn:aws:sqs:us-east-1:123456789012:photolane-jobs-dlq"
    assert resolve({"Ref": "Topic"}, found) == "arn:aws:sns:us-east-1:123456789012:photolane-events"
    assert resolve({"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/thumbs/*"]]}, found) == \
        "arn:aws:s3:::photolane/thumbs/*"
    assert resolve({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sqs:", {"Ref": "AWS::Region"}, ":",
                                      {"Ref": "AWS::AccountId"}, ":photolane-replies-*"]]}, found) == \
        "arn:aws:sqs:us-east-1:123456789012:photolane-replies-*"
    for unknown in ({"Ref": "Elsewhere"}, {"Fn::GetAtt": ["Bucket", "DomainName"]}, {"Fn::Sub": "x"}):
        with pytest.raises(Unresolved):
            resolve(unknown, found)


def test_wildcards_are_iams_not_globs() -> None:
    assert wildcard("arn:aws:s3:::photolane/thumbs/*", "arn:aws:s3:::photolane/thumbs/a/b.jpg")
    assert not wildcard("arn:aws:s3:::photolane/thumbs/*", "arn:aws:s3:::photolane/flipped/b.jpg")
    assert wildcard("arn:aws:sqs:*:*:q-?", "arn:aws:sqs:us-east-1:1:q-1")
    assert not wildcard("[ab]", "a") and wildcard("[ab]", "[ab]")  # brackets are literal in IAM
    assert wildcard("SQS:send*", "sqs:SendMessage", ignore_case=True)
    assert not wildcard("arn:aws:sns:us-east-1:1:topic", "*")  # a call without an ARN needs "*" itself
    assert wildcard("*", "*")


def test_conditions() -> None:
    sender = {"StringEquals": {"ses:FromAddress": ["photolane@example.com"]}}
    assert conditions_hold(sender, {"ses:FromAddress": "photolane@example.com"})
    assert not conditions_hold(sender, {"ses:FromAddress": "other@example.com"})
    assert not conditions_hold(sender, {})  # a key the call lacks fails a positive test
    prefixes = {"StringLike": {"s3:prefix": ["originals/*", "people/*"]}}
    assert conditions_hold(prefixes, {"s3:prefix": "people/p1/a.jpg"})
    assert not conditions_hold(prefixes, {"s3:prefix": "thumbs/"})
    assert conditions_hold({"StringLikeIfExists": {"s3:prefix": ["x*"]}}, {})
    assert conditions_hold({"StringNotEquals": {"aws:SourceVpc": ["vpc-1"]}}, {})
    with pytest.raises(ValueError, match="not modelled"):
        conditions_hold({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}, {})


def test_a_call_is_allowed_by_a_matching_statement_and_a_deny_wins() -> None:
    template = _template([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": ARN},
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::Join": ["", [ARN, "/index/*"]]}},
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": ARN},
    ])
    statements = role_statements(template, "notifier", local_resources(template))
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/photolane-settings"
    assert allowing(statements, Call("notifier", "dynamodb:GetItem", table)) == [(0, "dynamodb:GetItem", table)]
    assert not allowing(statements, Call("notifier", "dynamodb:PutItem", table))  # denied
    assert not allowing(statements, Call("notifier", "dynamodb:UpdateItem", table))
    assert allowing(statements, Call("notifier", "dynamodb:Query", f"{table}/index/by-owner"))
    assert not allowing(statements, Call("notifier", "dynamodb:Query", table))  # a table query is no index query
    assert allowing(statements, Call("notifier", "sns:Publish", "*"))
    assert (2, "sns:Publish", "*") in grants(statements)


def test_not_resource_covers_every_resource_but_its_patterns() -> None:
    """The notifier's SMS grant: sns:Publish on what is not an SNS ARN (a phone number's call is "*"), the
    events topic by its own statement; a Deny with NotResource denies everything but its patterns."""
    topic = {"Ref": "Topic"}
    not_sns = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sns:*:*:*"]]}
    template = _template([
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic},
        {"Effect": "Allow", "Action": "sns:Publish", "NotResource": not_sns},
    ])
    statements = role_statements(template, "notifier", local_resources(template))
    assert statements[1].not_resource and statements[1].resources == ("arn:aws:sns:*:*:*",)
    events = "arn:aws:sns:us-east-1:123456789012:photolane-events"
    assert allowing(statements, Call("notifier", "sns:Publish", "*")) == [(1, "sns:Publish", "NOT arn:aws:sns:*:*:*")]
    assert allowing(statements, Call("notifier", "sns:Publish", events)) == [(0, "sns:Publish", events)]
    for other in ("arn:aws:sns:us-east-1:123456789012:other", "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/a/b"):
        assert not allowing(statements, Call("notifier", "sns:Publish", other)), other
    assert grants(statements) == [(0, "sns:Publish", events), (1, "sns:Publish", "NOT arn:aws:sns:*:*:*")]

    template = _template([
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
        {"Effect": "Deny", "Action": "sns:Publish", "NotResource": [topic]},
    ])
    statements = role_statements(template, "notifier", local_resources(template))
    assert allowing(statements, Call("notifier", "sns:Publish", events))
    assert not allowing(statements, Call("notifier", "sns:Publish", "arn:aws:sns:us-east-1:123456789012:other"))
    assert not allowing(statements, Call("notifier", "sns:Publish", "*"))  # why the notifier's grant is no Deny
    with pytest.raises(ValueError, match="NotAction is not modelled"):
        role_statements(_template([{"Effect": "Allow", "NotAction": "sns:Publish", "Resource": "*"}]), "notifier",
                        local_resources(template))


def test_recorded_arns_take_the_stand_ins_region_and_account() -> None:
    assert normalize("arn:aws:dynamodb:eu-west-1:*:table/t") == "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    assert normalize("arn:aws:s3:::b/k") == "arn:aws:s3:::b/k"
    assert normalize("*") == "*"
    record = {"service": "upload", "action": "sqs:GetQueueUrl", "resource": "arn:aws:sqs:us-east-1:*:photolane-jobs"}
    assert Call.from_record(record).resource == "arn:aws:sqs:us-east-1:123456789012:photolane-jobs"


def test_a_refused_call_is_told_the_grant_to_add() -> None:
    found = local_resources(_template([]))
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/photolane-settings"
    calls = [Call("notifier", "dynamodb:PutItem", table), Call("notifier", "dynamodb:UpdateItem", table),
             Call("notifier", "dynamodb:Query", f"{table}/index/by-owner"),
             Call("notifier", "s3:GetObject", "arn:aws:s3:::photolane/thumbs/1.jpg"),
             Call("notifier", "s3:GetObject", "arn:aws:s3:::photolane/flipped/1.jpg"),
             Call("notifier", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:photolane-jobs-dlq"),
             Call("notifier", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:photolane-replies-1"),
             Call("notifier", "sns:Publish", "*")]
    assert suggestion(calls, found) == [
        'data.grant_objects(role, ["s3:GetObject"], ["flipped/", "thumbs/"])',
        'iam.Grant.add_to_principal(grantee=role, actions=["dynamodb:PutItem", "dynamodb:UpdateItem"], '
        'resource_arns=[data.settings_table.table_arn])',
        'iam.Grant.add_to_principal(grantee=role, actions=["dynamodb:Query"], '
        'resource_arns=[f"{data.settings_table.table_arn}/index/by-owner"])',
        'iam.Grant.add_to_principal(grantee=role, actions=["sns:Publish"], resource_arns=["*"])',
        'iam.Grant.add_to_principal(grantee=role, actions=["sqs:SendMessage"], '
        'resource_arns=[data.jobs.dead_letters.queue_arn, '
        'f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:{Aws.ACCOUNT_ID}:photolane-replies-1"])',
    ]


def test_every_statement_of_the_real_task_roles_resolves(synthesized: Synthesized) -> None:
    """Each resource a task role names is one the local run has: a grant to something else could never be
    proven by a call (it would be reported unused)."""
    found = local_resources(synthesized.json)
    assert {local.hint for local in found.values()} == {
        "data.bucket", "data.photos_table", "data.people_table", "data.settings_table", "data.faces_table",
        "data.collections_table", "data.jobs.queue", "data.jobs.dead_letters", "data.notifications.queue",
        "data.notifications.dead_letters", "data.events_topic"}
    for service in ("upload", "processor", "notifier"):
        statements = role_statements(synthesized.json, service, found)
        unresolved = [r for s in statements for r in s.resources if r.startswith("<unresolved")]
        assert statements and not unresolved, (service, unresolved)

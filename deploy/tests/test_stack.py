"""CDK assertions on the synthesized stack: the services, what each may do, and the data layer."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match
from pynamodb.models import Model

from photolane_common.messages import RetentionSweepDue, decode
from photolane_common.models import FaceModel, PersonModel, PhotoModel, SettingModel
from photolane_common.resources import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT
from photolane_common.retention import BACKSTOP_DAYS
from photolane_deploy.data import INDEX, INDEX_NONCURRENT_DAYS, NONCURRENT_DAYS, PHOTO_PREFIXES
from photolane_notifier.settings import NotifierSettings
from photolane_processor.settings import ProcessorSettings
from photolane_upload.settings import UploadSettings

from .conftest import CERTIFICATE_ARN, Synthesized
from .grants.policy import Call, allowing, local_resources, role_statements

SETTINGS = {"upload": UploadSettings, "processor": ProcessorSettings, "notifier": NotifierSettings}


def container(synth: Synthesized, name: str) -> dict[str, Any]:
    for task in synth.resources("AWS::ECS::TaskDefinition").values():
        for definition in task["Properties"]["ContainerDefinitions"]:
            if definition["Name"] == name:
                return {**definition, "_task": task}
    raise AssertionError(f"no container {name}")


def task_role_statements(synth: Synthesized, name: str) -> list[dict[str, Any]]:
    role = container(synth, name)["_task"]["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    policies = [p for p in synth.resources("AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]]
    assert policies, f"no policy on the {name} task role"
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        found.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return found


def logical_id(synth: Synthesized, kind: str, path_part: str) -> str:
    matches = [name for name in synth.resources(kind) if path_part in name]
    assert len(matches) == 1, (kind, path_part, matches)
    return matches[0]


# -- the services -----------------------------------------------------------------------------------
def test_three_fargate_services_from_the_pushed_images(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::ECS::Service", 3)
    synthesized.template.all_resources_properties("AWS::ECS::Service", {"LaunchType": "FARGATE"})
    for name in SETTINGS:
        image = str(container(synthesized, name)["Image"])
        assert f"photolane/{name}" in image and ":0123abc" in image, image


def test_the_load_balancer_is_in_front_of_upload_only(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    synthesized.template.resource_count_is("AWS::ElasticLoadBalancingV2::TargetGroup", 1)
    fronted = [s["Properties"]["LoadBalancers"] for s in synthesized.resources("AWS::ECS::Service").values()
               if s["Properties"].get("LoadBalancers")]
    assert len(fronted) == 1 and len(fronted[0]) == 1, fronted
    assert (fronted[0][0]["ContainerName"], fronted[0][0]["ContainerPort"]) == ("upload", 5000)
    synthesized.template.has_resource_properties("AWS::ElasticLoadBalancingV2::TargetGroup", {
        "HealthCheckPath": "/healthz", "Matcher": {"HttpCode": "200"}, "Port": 80, "Protocol": "HTTP"})
    synthesized.template.has_resource_properties("AWS::ElasticLoadBalancingV2::Listener", {"Protocol": "HTTP",
                                                                                           "Port": 80})


def test_https_when_a_certificate_is_given(with_certificate: Synthesized) -> None:
    synth, arn = with_certificate, CERTIFICATE_ARN
    synth.template.has_resource_properties("AWS::ElasticLoadBalancingV2::Listener", {
        "Protocol": "HTTPS", "Port": 443, "Certificates": [{"CertificateArn": arn}]})
    synth.template.has_resource_properties("AWS::ElasticLoadBalancingV2::Listener", {
        "Protocol": "HTTP", "Port": 80,
        "DefaultActions": [Match.object_like({"Type": "redirect", "RedirectConfig": Match.object_like({
            "Protocol": "HTTPS", "StatusCode": "HTTP_301"})})]})
    public_url = {e["Name"]: e["Value"] for e in container(synth, "notifier")["Environment"]}["PHOTOLANE_PUBLIC_URL"]
    assert public_url == "https://photos.example.com"
    upload = {e["Name"]: e["Value"] for e in container(synth, "upload")["Environment"]}
    assert upload["PHOTOLANE_PUBLIC_URL"] == public_url and upload["PHOTOLANE_COOKIE_SECURE"] == "true"
    assert synth.json["Outputs"]["Url"]["Value"] == public_url
    synth.template.resource_count_is("AWS::CloudFront::Distribution", 0)  # the ALB's own HTTPS is enough


def test_upload_scales_on_requests_and_both_workers_on_queue_depth(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 3)
    synthesized.template.has_resource_properties("AWS::ApplicationAutoScaling::ScalingPolicy", {
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": Match.object_like({
            "PredefinedMetricSpecification": Match.object_like({"PredefinedMetricType": "ALBRequestCountPerTarget"})}),
    })
    for queue in ("DataJobsQueue", "DataNotificationsQueue"):
        queue_id = logical_id(synthesized, "AWS::SQS::Queue", queue)
        alarms = [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()
                  if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
                  and a["Properties"]["Dimensions"] == [{"Name": "QueueName",
                                                         "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]]
        assert len(alarms) == 2, f"{queue}: scale-out and scale-in alarms expected, got {alarms}"
        step_policies = {a["AlarmActions"][0]["Ref"] for a in alarms}
        for policy in step_policies:
            assert synthesized.json["Resources"][policy]["Properties"]["PolicyType"] == "StepScaling"


def test_workers_idle_at_zero_and_upload_keeps_one_task(synthesized: Synthesized) -> None:
    minimums = sorted(t["Properties"]["MinCapacity"]
                      for t in synthesized.resources("AWS::ApplicationAutoScaling::ScalableTarget").values())
    assert minimums == [0, 0, 1]


def test_every_setting_passed_is_one_the_service_reads(synthesized: Synthesized) -> None:
    for name, settings in SETTINGS.items():
        env = {e["Name"] for e in container(synthesized, name)["Environment"]}
        read = {f"PHOTOLANE_{field.upper()}" for field in settings.model_fields}
        passed = {key for key in env if key.startswith("PHOTOLANE_")}
        assert passed <= read, f"{name} is given settings it does not read: {passed - read}"
        assert {"PHOTOLANE_BUCKET", "PHOTOLANE_JOBS_QUEUE", "PHOTOLANE_NOTIFICATIONS_QUEUE",
                "PHOTOLANE_PHOTOS_TABLE", "PHOTOLANE_PEOPLE_TABLE", "PHOTOLANE_SETTINGS_TABLE",
                "PHOTOLANE_FACES_TABLE"} <= passed
    notifier = {e["Name"]: e["Value"] for e in container(synthesized, "notifier")["Environment"]}
    topic = logical_id(synthesized, "AWS::SNS::Topic", "DataEventsTopic")
    assert notifier["PHOTOLANE_EVENTS_TOPIC_ARN"] == {"Ref": topic}
    jobs = logical_id(synthesized, "AWS::SQS::Queue", "DataJobsQueue")
    assert notifier["PHOTOLANE_JOBS_QUEUE"] == {"Fn::GetAtt": [jobs, "QueueName"]}  # names, not URLs


def test_admin_token_and_session_key_are_secrets_never_values(synthesized: Synthesized) -> None:
    upload = container(synthesized, "upload")
    secrets = {s["Name"]: s["ValueFrom"] for s in upload["Secrets"]}
    assert set(secrets) == {"PHOTOLANE_ADMIN_TOKEN", "PHOTOLANE_SESSION_KEY"}
    generated = synthesized.resources("AWS::SecretsManager::Secret")  # no origin secret: the ALB is internal
    assert len(generated) == 2
    for secret in generated.values():
        assert "GenerateSecretString" in secret["Properties"] and "SecretString" not in secret["Properties"]
    assert {ref["Ref"] for ref in secrets.values()} == set(generated)
    for name in SETTINGS:
        env = {e["Name"] for e in container(synthesized, name)["Environment"]}
        assert not env & {"PHOTOLANE_ADMIN_TOKEN", "PHOTOLANE_SESSION_KEY"}


def test_workers_have_time_to_finish_the_message_in_hand(synthesized: Synthesized) -> None:
    assert container(synthesized, "processor")["StopTimeout"] == 120
    assert container(synthesized, "notifier")["StopTimeout"] == 30
    assert "photolane_common.health" in container(synthesized, "processor")["HealthCheck"]["Command"]


# -- least privilege -----------------------------------------------------------------------------------
def test_no_task_role_has_a_wildcard_action(synthesized: Synthesized) -> None:
    for name in SETTINGS:
        wild = {action for action in actions(task_role_statements(synthesized, name)) if "*" in action}
        assert not wild, f"{name}: {wild}"


def test_each_task_role_has_only_what_its_service_does(synthesized: Synthesized) -> None:
    upload = actions(task_role_statements(synthesized, "upload"))
    processor = actions(task_role_statements(synthesized, "processor"))
    notifier = actions(task_role_statements(synthesized, "notifier"))
    assert "sqs:SendMessage" in upload
    assert {"sqs:ReceiveMessage", "sqs:SendMessage", "s3:GetObject", "s3:PutObject"} <= processor
    assert not {a for a in notifier if a.startswith("s3:")}
    assert {"sns:Publish", "ses:SendEmail"} <= notifier and not {"sns:Publish", "ses:SendEmail"} & (upload | processor)
    assert not {a for a in upload | processor | notifier
                if a.startswith(("iam:", "dynamodb:DeleteTable", "dynamodb:CreateTable"))}
    assert not {a for a in upload | notifier if a.startswith("s3:Delete")}
    # The processor deletes its own face index snapshots (index/) and, erasing a deleted photo, person or
    # collection, their objects (a deleted drop-in's original is its incoming/ key): never the whole bucket.
    deleting = [s for s in task_role_statements(synthesized, "processor")
                if any(a.startswith("s3:Delete") for a in actions([s]))]
    assert {a for a in actions(deleting) if a.startswith("s3:Delete")} == {"s3:DeleteObject"}
    listed = [s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]] for s in deleting]
    prefixes = {r["Fn::Join"][1][-1] for resources in listed for r in resources}
    assert prefixes == {"/index/*", "/originals/*", "/incoming/*", "/flipped/*", "/thumbs/*", "/results/*",
                        "/faces/*", "/people/*"}


def test_the_notifier_publishes_to_the_events_topic_and_phone_numbers_only(synthesized: Synthesized) -> None:
    """SMS to a phone number (no ARN: the call's resource is "*") and the events topic; no other topic, no
    platform endpoint, in this account or another (evaluated as IAM would, grants/policy.py)."""
    found = local_resources(synthesized.json)
    statements = role_statements(synthesized.json, "notifier", found)
    events = next(local.arn for local in found.values() if local.hint == "data.events_topic")

    def publishes(resource: str) -> bool:
        return bool(allowing(statements, Call("notifier", "sns:Publish", resource)))

    assert publishes(events) and publishes("*")
    for other in ("arn:aws:sns:us-east-1:123456789012:someone-elses-topic",
                  "arn:aws:sns:eu-west-1:210987654321:photolane-events",
                  "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
                  "arn:aws:sns:us-east-1:123456789012:app/GCM/app"):
        assert not publishes(other), other
    publishing = [st for st in task_role_statements(synthesized, "notifier") if "sns:Publish" in actions([st])]
    assert not [st for st in publishing if "*" in _listed(st.get("Resource", []))], publishing  # never Resource "*"
    for name in ("upload", "processor"):
        assert "sns:Publish" not in actions(task_role_statements(synthesized, name))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_upload_redrives_and_purges_but_never_takes_the_workers_messages(synthesized: Synthesized) -> None:
    queues = {name: {"Fn::GetAtt": [logical_id(synthesized, "AWS::SQS::Queue", name), "Arn"]}
              for name in ("DataJobsQueue", "DataJobsDeadLetters", "DataNotificationsQueue",
                           "DataNotificationsDeadLetters")}
    allowed: dict[str, set[str]] = {name: set() for name in queues}
    for statement in task_role_statements(synthesized, "upload"):
        for name, arn in queues.items():
            if arn == statement["Resource"] or arn in (statement["Resource"] if isinstance(statement["Resource"], list)
                                                       else []):
                allowed[name] |= actions([statement])
    for live in ("DataJobsQueue", "DataNotificationsQueue"):
        assert {"sqs:SendMessage", "sqs:PurgeQueue", "sqs:GetQueueAttributes"} <= allowed[live]
        assert "sqs:ReceiveMessage" not in allowed[live] and "sqs:DeleteMessage" not in allowed[live]
    for dead in ("DataJobsDeadLetters", "DataNotificationsDeadLetters"):
        assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue", "sqs:GetQueueAttributes"} <= allowed[dead]


def test_upload_builds_links_on_the_public_address(synthesized: Synthesized) -> None:
    env = {e["Name"]: e["Value"] for e in container(synthesized, "upload")["Environment"]}
    assert env["PHOTOLANE_PUBLIC_URL"]["Fn::Join"][1][0] == "https://" and env["PHOTOLANE_COOKIE_SECURE"] == "true"


def test_the_processor_answers_on_reply_queues_of_its_prefix_only(synthesized: Synthesized) -> None:
    replies = [s for s in task_role_statements(synthesized, "processor")
               if "photolane-replies-*" in str(s["Resource"])]
    assert len(replies) == 1 and sorted(replies[0]["Action"]) == ["sqs:GetQueueUrl", "sqs:SendMessage"]
    assert replies[0]["Resource"]["Fn::Join"][1][-1] == ":photolane-replies-*"


def test_objects_are_granted_by_prefix(synthesized: Synthesized) -> None:
    puts = [s for s in task_role_statements(synthesized, "processor") if s["Action"] == "s3:PutObject"]
    prefixes = {part for s in puts for r in s["Resource"] for part in r["Fn::Join"][1] if isinstance(part, str)}
    # faces/: each face's picture; people/: a named face's picture on the person
    assert prefixes == {"/flipped/*", "/thumbs/*", "/results/*", "/faces/*", "/people/*"}


# -- the data layer -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("queue", "visibility"), [("Jobs", VISIBILITY_TIMEOUT["jobs"]),
                                                   ("Notifications", VISIBILITY_TIMEOUT["notifications"])])
def test_queues_have_dead_letter_queues(synthesized: Synthesized, queue: str, visibility: int) -> None:
    queue_id = logical_id(synthesized, "AWS::SQS::Queue", f"Data{queue}Queue")
    dead_id = logical_id(synthesized, "AWS::SQS::Queue", f"Data{queue}DeadLetters")
    properties = synthesized.json["Resources"][queue_id]["Properties"]
    assert properties["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dead_id, "Arn"]},
                                           "maxReceiveCount": MAX_RECEIVE_COUNT}
    assert properties["VisibilityTimeout"] == visibility
    assert properties["SqsManagedSseEnabled"] is True
    assert synthesized.json["Resources"][dead_id]["Properties"]["SqsManagedSseEnabled"] is True


def test_the_bucket_is_private_encrypted_and_notifies_jobs_of_drop_ins(synthesized: Synthesized) -> None:
    bucket_id = logical_id(synthesized, "AWS::S3::Bucket", "DataBucket")
    bucket = synthesized.json["Resources"][bucket_id]
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    jobs = logical_id(synthesized, "AWS::SQS::Queue", "DataJobsQueue")
    assert properties["NotificationConfiguration"] == {"QueueConfigurations": [{
        "Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": [jobs, "Arn"]},
        "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"}]}}}]}
    jobs_policy = logical_id(synthesized, "AWS::SQS::QueuePolicy", "DataJobsQueuePolicy")
    assert jobs_policy in bucket["DependsOn"]  # S3 checks the queue policy when the notification is set
    assert bucket["DeletionPolicy"] == "Retain"
    # Versioned: a deleted or overwritten object is recoverable NONCURRENT_DAYS, then gone for good (an
    # erasure is final then); face index snapshots keep old versions a day; stray uploads are aborted.
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert (NONCURRENT_DAYS, INDEX_NONCURRENT_DAYS) == (30, 1)
    rules = {rule.pop("Id"): rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    assert rules == {
        "noncurrent-versions": {"Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                                "ExpiredObjectDeleteMarker": True,
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
        "index-noncurrent-versions": {"Status": "Enabled", "Prefix": INDEX,
                                      "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
    }
    statements = synthesized.json["Resources"][jobs_policy]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s.get("Principal") == {"Service": "s3.amazonaws.com"} and "aws:SourceArn" in s["Condition"]["ArnLike"]
               for s in statements)


@pytest.mark.parametrize(("model", "table"), [(PhotoModel, "Photos"), (PersonModel, "People"),
                                              (SettingModel, "Settings"), (FaceModel, "Faces")])
def test_tables_match_the_models(synthesized: Synthesized, model: type[Model], table: str) -> None:
    """Keys and indexes exactly as pynamodb would create them (models.py), so the services work."""
    schema = model._get_schema()
    table_id = logical_id(synthesized, "AWS::DynamoDB::Table", f"Data{table}Table")
    resource = synthesized.json["Resources"][table_id]
    properties = resource["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"

    def keys(key_schema: list[dict[str, str]]) -> set[tuple[str, str]]:
        return {(k["AttributeName"], k["KeyType"]) for k in key_schema}

    assert keys(properties["KeySchema"]) == keys(schema["key_schema"])
    assert {(a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]} == \
        {(a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]}
    indexes = {i["IndexName"]: i for i in properties.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i["index_name"] for i in schema["global_secondary_indexes"]}
    for index in schema["global_secondary_indexes"]:
        deployed = indexes[index["index_name"]]
        assert keys(deployed["KeySchema"]) == keys(index["key_schema"])
        assert deployed["Projection"]["ProjectionType"] == index["projection"]["ProjectionType"]


def test_events_topic_is_encrypted(synthesized: Synthesized) -> None:
    topic = logical_id(synthesized, "AWS::SNS::Topic", "DataEventsTopic")
    assert "alias/aws/sns" in str(synthesized.json["Resources"][topic]["Properties"]["KmsMasterKeyId"])


def test_alarms_on_dead_letters_and_on_the_oldest_job(synthesized: Synthesized) -> None:
    alarms = [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]
    for queue in ("DataJobsDeadLetters", "DataNotificationsDeadLetters"):
        dead = logical_id(synthesized, "AWS::SQS::Queue", queue)
        assert any(a.get("MetricName") == "ApproximateNumberOfMessagesVisible" and a["Threshold"] == 1
                   and a["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dead, "QueueName"]} for a in alarms), queue
    jobs = logical_id(synthesized, "AWS::SQS::Queue", "DataJobsQueue")
    oldest = [a for a in alarms if a.get("MetricName") == "ApproximateAgeOfOldestMessage"
              and a["Dimensions"][0]["Value"] == {"Fn::GetAtt": [jobs, "QueueName"]}]
    assert len(oldest) == 1 and oldest[0]["Threshold"] == 1800 and oldest[0]["AlarmActions"]


def test_no_nat_gateway(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::EC2::NatGateway", 0)
    synthesized.template.all_resources_properties("AWS::ECS::Service", {"NetworkConfiguration": {
        "AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "ENABLED"})}})


def test_the_notifier_reads_only_the_owner_index_of_the_photos_table(synthesized: Synthesized) -> None:
    """A sign-in is decided in the notifier (the owner's newest photo): Query on that one index, nothing more."""
    photos = logical_id(synthesized, "AWS::DynamoDB::Table", "PhotosTable")
    queries = [s for s in task_role_statements(synthesized, "notifier") if "dynamodb:Query" in actions([s])]
    assert len(queries) == 1 and actions(queries) == {"dynamodb:Query"}
    resource = queries[0]["Resource"]
    assert resource == {"Fn::Join": ["", [{"Fn::GetAtt": [photos, "Arn"]}, "/index/owner-created"]]}


def _photos_table(synth: Synthesized) -> dict[str, Any]:
    return synth.json["Resources"][logical_id(synth, "AWS::DynamoDB::Table", "DataPhotosTable")]["Properties"]


def _bucket_rules(synth: Synthesized) -> dict[str, dict[str, Any]]:
    bucket = synth.json["Resources"][logical_id(synth, "AWS::S3::Bucket", "DataBucket")]
    return {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}


def _environment(synth: Synthesized, name: str) -> dict[str, str]:
    return {e["Name"]: e["Value"] for e in container(synth, name).get("Environment", [])}


def test_with_retention_the_backstops_expire_records_and_objects_days_after_the_sweep(
        with_retention: Synthesized, synthesized: Synthesized) -> None:
    """-c retention_days=30: the services are told; the photos table's TTL on expires_at and one lifecycle
    rule a photo prefix expire what a stopped sweep left, BACKSTOP_DAYS after the sweep's cutoff."""
    assert _photos_table(with_retention)["TimeToLiveSpecification"] == {
        "AttributeName": PhotoModel.expires_at.attr_name, "Enabled": True}
    rules = {key: rule for key, rule in _bucket_rules(with_retention).items() if key.startswith("retention-")}
    assert {rule["Prefix"] for rule in rules.values()} == set(PHOTO_PREFIXES) == {
        "originals/", "incoming/", "flipped/", "thumbs/", "results/", "faces/"}  # never people/ nor index/
    assert {rule["ExpirationInDays"] for rule in rules.values()} == {30 + BACKSTOP_DAYS}
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    for service in ("upload", "processor"):
        assert _environment(with_retention, service)["PHOTOLANE_RETENTION_DAYS"] == "30"
    # Without it: kept forever, nothing expires, nothing is said.
    assert "TimeToLiveSpecification" not in _photos_table(synthesized)
    assert not [key for key in _bucket_rules(synthesized) if key.startswith("retention-")]
    told = _environment(synthesized, "upload") | _environment(synthesized, "processor")
    assert "PHOTOLANE_RETENTION_DAYS" not in told


def test_with_retention_an_hourly_schedule_wakes_a_processor_to_sweep(with_retention: Synthesized,
                                                                      synthesized: Synthesized) -> None:
    """The processor may be scaled to zero: an hourly rule puts a retention.sweep_due on the jobs queue
    (a message the processor decodes), and the processor may query the created index and scan once."""
    rules = list(with_retention.resources("AWS::Events::Rule").values())
    assert len(rules) == 1 and rules[0]["Properties"]["ScheduleExpression"] == "rate(1 hour)"
    target = rules[0]["Properties"]["Targets"][0]
    jobs = logical_id(with_retention, "AWS::SQS::Queue", "DataJobsQueue")
    assert target["Arn"] == {"Fn::GetAtt": [jobs, "Arn"]}
    transformer = target["InputTransformer"]
    body = transformer["InputTemplate"]
    for name in transformer["InputPathsMap"]:  # as EventBridge fills a JSON template in: strings quoted
        body = body.replace(f"<{name}>", '"2024-05-01T12:00:00Z"' if "time" in name else '"0f5c1f6e-event"')
    assert isinstance(decode(body).payload(), RetentionSweepDue)
    policies = [p["Properties"] for p in with_retention.resources("AWS::SQS::QueuePolicy").values()
                if {"Ref": jobs} in p["Properties"]["Queues"]]
    assert any(s.get("Principal") == {"Service": "events.amazonaws.com"} and "sqs:SendMessage" in actions([s])
               and s["Effect"] == "Allow" for p in policies for s in p["PolicyDocument"]["Statement"])
    photos = logical_id(with_retention, "AWS::DynamoDB::Table", "DataPhotosTable")
    granted = task_role_statements(with_retention, "processor")
    assert any("dynamodb:Query" in actions([s]) and "/index/shard-created" in str(s["Resource"]) for s in granted)
    assert any("dynamodb:Scan" in actions([s]) and s["Resource"] == {"Fn::GetAtt": [photos, "Arn"]} for s in granted)
    # Without retention: no schedule, no such grant.
    assert not synthesized.resources("AWS::Events::Rule")
    assert not any("/index/shard-created" in str(s["Resource"]) for s in task_role_statements(synthesized, "processor"))

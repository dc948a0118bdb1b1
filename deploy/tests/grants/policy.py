"""The task roles' policies in the synthesized template, evaluated against the recorded AWS calls.

The template names resources by logical id; the local run (``make run``, the end-to-end tests) by the
default names of ``photolane_common.settings``. Each container's ``PHOTOLANE_*`` variables join the two:
``PHOTOLANE_SETTINGS_TABLE`` is ``{"Ref": "DataSettingsTable…"}`` in the template and ``photolane-settings``
locally, so ``{"Fn::GetAtt": ["DataSettingsTable…", "Arn"]}`` evaluates to the local table's ARN. A queue's
dead-letter queue is the one its ``RedrivePolicy`` names, ``<queue>-dlq`` locally (resources.py). Region and
account are the stand-in's: recorded ARNs are rewritten to them (a call does not always name its account).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from photolane_common.settings import CommonSettings

REGION, ACCOUNT = "us-east-1", "123456789012"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}

# Where each resource is in stack.py (the DataLayer's attributes), for the grant a failure suggests.
HINTS = {
    "PHOTOLANE_BUCKET": "data.bucket",
    "PHOTOLANE_PHOTOS_TABLE": "data.photos_table",
    "PHOTOLANE_PEOPLE_TABLE": "data.people_table",
    "PHOTOLANE_SETTINGS_TABLE": "data.settings_table",
    "PHOTOLANE_FACES_TABLE": "data.faces_table",
    "PHOTOLANE_COLLECTIONS_TABLE": "data.collections_table",
    "PHOTOLANE_JOBS_QUEUE": "data.jobs.queue",
    "PHOTOLANE_NOTIFICATIONS_QUEUE": "data.notifications.queue",
    "PHOTOLANE_EVENTS_TOPIC": "data.events_topic",
    "PHOTOLANE_EVENTS_TOPIC_ARN": "data.events_topic",
}


class Unresolved(ValueError):
    """A template value that names nothing the local run has (it can never match a call)."""


# -- wildcards and conditions ------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's matching: ``*`` any run of characters, ``?`` one; everything else literal."""
    return _regex(pattern, ignore_case).fullmatch(value) is not None


_OPERATORS = {
    "StringEquals": lambda actual, values: actual in values,
    "StringNotEquals": lambda actual, values: actual not in values,
    "StringEqualsIgnoreCase": lambda actual, values: actual.lower() in {v.lower() for v in values},
    "StringLike": lambda actual, values: any(wildcard(v, actual) for v in values),
    "StringNotLike": lambda actual, values: not any(wildcard(v, actual) for v in values),
    "ArnLike": lambda actual, values: any(wildcard(v, actual) for v in values),
    "ArnEquals": lambda actual, values: any(wildcard(v, actual) for v in values),
}


def conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """A statement's ``Condition`` against the call's condition keys; a key the call lacks fails a
    positive test (as in IAM) unless the operator ends in ``IfExists``."""
    keys = {k.lower(): v for k, v in context.items()}
    for operator, tests in conditions.items():
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise ValueError(f"condition operator {operator} is not modelled: add it to deploy/tests/grants/policy.py")
        for key, expected in tests.items():
            values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
            actual = keys.get(key.lower())
            if actual is None:
                if operator.endswith("IfExists") or "Not" in base:
                    continue
                return False
            if not _OPERATORS[base](actual, values):
                return False
    return True


def normalize(resource: str) -> str:
    """A recorded ARN in the stand-in's region and account (a call names its account only sometimes)."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return resource
    _, _partition, service, region, account, rest = parts
    return ":".join(["arn", "aws", service, REGION if region else "", ACCOUNT if account else "", rest])


# -- the template's resources, as the local run names them ---------------------------------------------
@dataclass(frozen=True)
class Local:
    logical_id: str
    kind: str  # the CloudFormation type
    name: str  # the local resource's name
    hint: str  # the DataLayer attribute in stack.py

    @property
    def arn(self) -> str:
        return {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{self.name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{self.name}",
        }[self.kind]

    @property
    def arn_expression(self) -> str:
        """The same ARN in stack.py's terms."""
        attribute = {"AWS::DynamoDB::Table": "table_arn", "AWS::SQS::Queue": "queue_arn",
                     "AWS::S3::Bucket": "bucket_arn", "AWS::SNS::Topic": "topic_arn"}[self.kind]
        return f"{self.hint}.{attribute}"

    def attribute(self, name: str) -> str:
        """``Ref`` (name ``Ref``) or ``Fn::GetAtt`` of the resource, as the local run has it."""
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name}"
        values = {
            "AWS::DynamoDB::Table": {"Ref": self.name, "Arn": self.arn},
            "AWS::SQS::Queue": {"Ref": url, "QueueUrl": url, "Arn": self.arn, "QueueName": self.name},
            "AWS::S3::Bucket": {"Ref": self.name, "Arn": self.arn},
            "AWS::SNS::Topic": {"Ref": self.arn, "TopicArn": self.arn, "TopicName": self.name},
        }.get(self.kind, {})
        if name not in values:
            raise Unresolved(f"{self.logical_id}.{name}")
        return values[name]


def _logical_id(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def _containers(template: dict[str, Any]) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    for task in template["Resources"].values():
        if task["Type"] == "AWS::ECS::TaskDefinition":
            for definition in task["Properties"]["ContainerDefinitions"]:
                yield task, definition


def local_resources(template: dict[str, Any]) -> dict[str, Local]:
    """Logical id → the local resource, through the containers' PHOTOLANE_* variables."""
    resources = template["Resources"]
    defaults = {name: f.default for name, f in CommonSettings.model_fields.items()}
    found: dict[str, Local] = {}
    for _task, definition in _containers(template):
        for variable in definition.get("Environment", []):
            logical = _logical_id(variable["Value"])
            setting = variable["Name"].removeprefix("PHOTOLANE_").lower()
            if logical not in resources or logical in found:
                continue
            if variable["Name"] == "PHOTOLANE_EVENTS_TOPIC_ARN":
                setting = "events_topic"
            if not isinstance(defaults.get(setting), str):
                continue
            found[logical] = Local(logical, resources[logical]["Type"], defaults[setting],
                                   HINTS.get(variable["Name"], variable["Name"]))
    for local in list(found.values()):  # each queue's dead-letter queue, <name>-dlq locally
        redrive = resources[local.logical_id]["Properties"].get("RedrivePolicy") or {}
        dead = _logical_id(redrive.get("deadLetterTargetArn"))
        if local.kind == "AWS::SQS::Queue" and dead in resources:
            found[dead] = Local(dead, "AWS::SQS::Queue", f"{local.name}-dlq",
                                local.hint.removesuffix(".queue") + ".dead_letters")
    return found


def resolve(value: Any, locals_: dict[str, Local]) -> str:
    """Evaluate Ref, Fn::GetAtt and Fn::Join as they would be for the local run."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref" and argument in PSEUDO:
            return PSEUDO[argument]
        if function == "Ref" and argument in locals_:
            return locals_[argument].attribute("Ref")
        if function == "Fn::GetAtt" and argument[0] in locals_:
            return locals_[argument[0]].attribute(argument[1])
        if function == "Fn::Join":
            return argument[0].join(resolve(part, locals_) for part in argument[1])
    raise Unresolved(json.dumps(value))


# -- the task roles' statements -------------------------------------------------------------------
NOT = "NOT "  # how a NotResource statement's grant is named: "NOT <pattern> | <pattern>"


@dataclass(frozen=True)
class Statement:
    service: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # patterns; an unresolvable one is "<unresolved: …>", which matches nothing
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_resource: bool = False  # NotResource: the statement covers every resource that matches none of them

    @property
    def granted(self) -> tuple[str, ...]:
        """What the statement grants, by resource: its patterns, or the one NotResource grant's name."""
        return (NOT + " | ".join(self.resources),) if self.not_resource else self.resources

    def allows(self, action: str, resource: str, context: dict[str, str]) -> list[tuple[str, str]]:
        """The (action pattern, resource pattern) pairs of this statement that cover the request."""
        actions = [a for a in self.actions if wildcard(a, action, ignore_case=True)]
        if self.not_resource:
            resources = [] if any(wildcard(r, resource) for r in self.resources) else list(self.granted)
        else:
            resources = [r for r in self.resources if wildcard(r, resource)]
        if not actions or not resources or not conditions_hold(self.conditions, context):
            return []
        return [(a, r) for a in actions for r in resources]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], service: str, locals_: dict[str, Local]) -> list[Statement]:
    """Every statement of the task role of the container named ``service``."""
    tasks = [task for task, definition in _containers(template) if definition["Name"] == service]
    assert len(tasks) == 1, f"{len(tasks)} containers named {service} in the template"
    role_id = tasks[0]["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    if role.get("ManagedPolicyArns"):
        raise ValueError(f"the {service} task role has managed policies, which this check cannot read")
    documents = [p["PolicyDocument"] for p in role.get("Policies", [])]
    documents += [r["Properties"]["PolicyDocument"] for r in template["Resources"].values()
                  if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"].get("Roles", [])]
    statements = []
    for document in documents:
        for raw in document["Statement"]:
            if "NotAction" in raw:
                raise ValueError(f"{service}: NotAction is not modelled: {raw}")
            resources = []
            for resource in _listed(raw["Resource"] if "Resource" in raw else raw["NotResource"]):
                try:
                    resources.append(resolve(resource, locals_))
                except Unresolved as exc:
                    resources.append(f"<unresolved: {exc}>")
            conditions = {op: {k: [resolve(v, locals_) for v in _listed(vs)] for k, vs in tests.items()}
                          for op, tests in raw.get("Condition", {}).items()}
            statements.append(Statement(service, raw["Effect"], tuple(_listed(raw["Action"])), tuple(resources),
                                        conditions, not_resource="NotResource" in raw))
    return statements


@dataclass(frozen=True)
class Call:
    """One recorded need: a service's action on a resource (normalized), with its condition keys."""

    service: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    operation: str = ""
    presigned: bool = False

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Call:
        return cls(record["service"], record["action"], normalize(record["resource"]),
                   tuple(sorted(record.get("context", {}).items())), record.get("operation", ""),
                   bool(record.get("presigned")))


def allowing(statements: list[Statement], call: Call) -> list[tuple[int, str, str]]:
    """(statement index, action pattern, resource pattern) of every grant that allows the call; none
    when nothing allows it or a Deny covers it."""
    context = dict(call.context)
    found = [(i, a, r) for i, s in enumerate(statements) if s.effect == "Allow"
             for a, r in s.allows(call.action, call.resource, context)]
    denied = any(s.allows(call.action, call.resource, context) for s in statements if s.effect == "Deny")
    return [] if denied else found


def grants(statements: list[Statement]) -> list[tuple[int, str, str]]:
    """Every (statement index, action, resource) an Allow statement grants."""
    return [(i, a, r) for i, s in enumerate(statements) if s.effect == "Allow" for a in s.actions for r in s.granted]


# -- what to write in stack.py ---------------------------------------------------------------------
def suggestion(calls: list[Call], locals_: dict[str, Local]) -> list[str]:
    """The grants that would allow ``calls`` (all of one service), as lines of its ``_grant_<service>``."""
    by_arn = {local.arn: local for local in locals_.values()}
    objects: dict[tuple[str, ...], set[str]] = {}
    others: dict[str, set[str]] = {}
    bucket = next((local for local in locals_.values() if local.kind == "AWS::S3::Bucket"), None)
    for call in calls:
        if bucket and call.resource.startswith(bucket.arn + "/"):
            key = call.resource.removeprefix(bucket.arn + "/")
            prefix = key.split("/", 1)[0] + "/" if "/" in key else key
            objects.setdefault((call.action,), set()).add(prefix)
            continue
        others.setdefault(_expression(call.resource, by_arn), set()).add(call.action)
    lines = [f"data.grant_objects(role, {json.dumps(list(actions))}, {json.dumps(sorted(prefixes))})"
             for actions, prefixes in sorted(objects.items())]
    merged: dict[tuple[str, ...], list[str]] = {}
    for expression, actions in others.items():
        merged.setdefault(tuple(sorted(actions)), []).append(expression)
    for actions, expressions in sorted(merged.items()):
        lines.append(f"iam.Grant.add_to_principal(grantee=role, actions={json.dumps(list(actions))}, "
                     f"resource_arns=[{', '.join(sorted(expressions))}])")
    return lines


def _expression(resource: str, by_arn: dict[str, Local]) -> str:
    if resource in by_arn:
        return by_arn[resource].arn_expression
    for arn, local in by_arn.items():
        if resource.startswith(arn + "/"):  # a table's index
            return f'f"{{{local.arn_expression}}}{resource.removeprefix(arn)}"'
    if resource == "*":
        return '"*"'
    generic = resource.replace("arn:aws:", "arn:{Aws.PARTITION}:", 1).replace(f":{REGION}:", ":{Aws.REGION}:", 1)
    return 'f"' + generic.replace(f":{ACCOUNT}:", ":{Aws.ACCOUNT_ID}:", 1) + '"'


def label(resource: str, locals_: dict[str, Local]) -> str:
    """A grant's resource for people: the ARN and, when it is one, the DataLayer attribute."""
    for local in locals_.values():
        if resource == local.arn or resource.startswith(local.arn + "/"):
            return f"{resource} ({local.hint})"
    return resource

"""The AWS calls a service makes, recorded to prove its task role's grants (deploy/README.md, "How the
grants are proven"): the AWS stand-in enforces no IAM, so a missing grant would only show on AWS.

When ``PHOTOLANE_AWS_CALL_LOG`` names a folder, ``install_from_env(service)`` (the first thing each
service's ``__main__`` does) hooks every botocore session made from then on (boto3's and the ones
pynamodb makes itself) and appends to ``<folder>/<service>.jsonl`` one JSON line per distinct IAM
permission a call needs, before the call is sent (a refused call needed it too):

    {"service": "notifier", "aws": "dynamodb", "operation": "PutItem", "action": "dynamodb:PutItem",
     "resource": "arn:aws:dynamodb:us-east-1:*:table/photolane-settings"}

``resource`` is the ARN the call acts on (an account of ``*`` where the call does not name it, ``*``
where IAM has no ARN, e.g. an SMS to a phone number); ``context`` holds the condition keys a policy
may test (``s3:prefix``, ``ses:FromAddress``); ``presigned`` marks a URL signed for someone else to use
with this role's credentials. The variable unset, nothing is installed and nothing costs.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ENV = "PHOTOLANE_AWS_CALL_LOG"
SERVICES = ("upload", "processor", "notifier")
EVENT = "before-parameter-build"  # every API call and every presigned URL, once (not once per retry)

log = logging.getLogger("photolane.audit")


@dataclass(frozen=True)
class Need:
    """One IAM permission a call needs: the action, on that resource, with those condition keys."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    note: str | None = None


# -- operation → IAM action and resource ------------------------------------------------------------
def needs(aws: str, operation: str, params: dict[str, Any], *, region: str = "*", account: str = "*",
          prefix: str | None = None) -> list[Need]:
    """What the call ``operation`` of botocore service ``aws`` with ``params`` needs from IAM.

    ``prefix`` is the IAM service prefix where it differs from ``aws`` (botocore's signing name).
    """
    mapper = _MAPPERS.get(aws)
    if mapper is not None:
        return mapper(operation, params, region, account)
    return [Need(f"{prefix or aws}:{operation}", "*")]


# S3: object operations act on arn:aws:s3:::bucket/key, bucket operations on arn:aws:s3:::bucket.
_S3_OBJECT = {
    "HeadObject": "GetObject",  # HEAD is authorized as a read of the object
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
}
_S3_VERSIONED = {"GetObject": "GetObjectVersion", "HeadObject": "GetObjectVersion",
                 "DeleteObject": "DeleteObjectVersion", "GetObjectTagging": "GetObjectVersionTagging"}
_S3_BUCKET = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
}


def s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def _copy_source(source: Any) -> tuple[str, str]:
    if isinstance(source, dict):
        return source["Bucket"], source["Key"]
    bucket, _, key = unquote(str(source).split("?versionId=")[0]).lstrip("/").partition("/")
    return bucket, key


def _s3(operation: str, params: dict[str, Any], _region: str, _account: str) -> list[Need]:
    bucket = params.get("Bucket")
    if operation == "ListBuckets":
        return [Need("s3:ListAllMyBuckets", "*")]
    if operation in ("CopyObject", "UploadPartCopy"):
        source_bucket, source_key = _copy_source(params["CopySource"])
        return [Need("s3:PutObject", s3_arn(bucket, params["Key"])),
                Need("s3:GetObject", s3_arn(source_bucket, source_key))]
    if operation == "DeleteObjects":
        return [Need("s3:DeleteObject", s3_arn(bucket, o["Key"])) for o in params.get("Delete", {}).get("Objects", [])]
    if "Key" in params:
        action = _S3_OBJECT.get(operation, operation)
        if params.get("VersionId"):
            action = _S3_VERSIONED.get(operation, action)
        return [Need(f"s3:{action}", s3_arn(bucket, params["Key"]))]
    context = {"s3:prefix": params["Prefix"]} if operation in ("ListObjects", "ListObjectsV2") and "Prefix" in params \
        else {}
    return [Need(f"s3:{_S3_BUCKET.get(operation, operation)}", s3_arn(bucket) if bucket else "*", context)]


# DynamoDB: arn:aws:dynamodb:region:account:table/name, and /index/name for a query or scan of an index.
_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[Need]:
    def table(name: str) -> str:
        return f"arn:aws:dynamodb:{region}:{account}:table/{name}"

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Need(f"dynamodb:{operation}", table(name)) for name in params.get("RequestItems", {})]
    if operation == "TransactGetItems":
        return [Need("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in params.get("TransactItems", [])]
    if operation == "TransactWriteItems":
        return [Need(f"dynamodb:{_TRANSACT_WRITE[kind]}", table(part["TableName"]))
                for item in params.get("TransactItems", []) for kind, part in item.items()]
    if "TableName" not in params:
        return [Need(f"dynamodb:{operation}", "*")]
    resource = table(params["TableName"])
    if params.get("IndexName") and operation in ("Query", "Scan"):
        resource += f"/index/{params['IndexName']}"
    return [Need(f"dynamodb:{operation}", resource)]


# SQS: arn:aws:sqs:region:account:name, the account and name from the queue URL.
_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def queue_arn(url: str, region: str = "*") -> str:
    """``https://sqs.<region>.amazonaws.com/<account>/<name>`` (or the stand-in's) → the queue's ARN."""
    account, _, name = urlsplit(url).path.strip("/").rpartition("/")
    return f"arn:aws:sqs:{region}:{account.rpartition('/')[2] or '*'}:{name}"


def _sqs(operation: str, params: dict[str, Any], region: str, account: str) -> list[Need]:
    action = f"sqs:{_SQS_BATCH.get(operation, operation)}"
    if "QueueUrl" in params:
        return [Need(action, queue_arn(params["QueueUrl"], region))]
    if "QueueName" in params:  # GetQueueUrl, CreateQueue
        owner = params.get("QueueOwnerAWSAccountId") or account
        return [Need(action, f"arn:aws:sqs:{region}:{owner}:{params['QueueName']}")]
    return [Need(action, "*")]


# SNS: the topic (or endpoint) ARN; an SMS goes to a phone number, which has no ARN: IAM takes only "*".
def _sns(operation: str, params: dict[str, Any], region: str, account: str) -> list[Need]:
    action = "sns:Publish" if operation == "PublishBatch" else f"sns:{operation}"
    if params.get("TopicArn") or params.get("TargetArn"):
        return [Need(action, params.get("TopicArn") or params["TargetArn"])]
    if params.get("PhoneNumber"):
        return [Need(action, "*", note="phone number")]
    if operation == "CreateTopic":
        return [Need(action, f"arn:aws:sns:{region}:{account}:{params['Name']}")]
    return [Need(action, "*")]


# SES: the sending identity, and in the SES sandbox the recipients' too; ses:FromAddress for conditions.
def _addresses(value: Any) -> list[str]:
    return [parseaddr(a)[1] or a for a in ([value] if isinstance(value, str) else value or [])]


def _ses_needs(action: str, sender: str | None, recipients: list[str], region: str, account: str) -> list[Need]:
    context = {"ses:FromAddress": sender} if sender else {}
    identities = ([sender] if sender else []) + [r for r in recipients if r != sender]
    return [Need(action, f"arn:aws:ses:{region}:{account}:identity/{identity}", context)
            for identity in dict.fromkeys(identities)] or [Need(action, "*", context)]


def _recipients(destination: dict[str, Any]) -> list[str]:
    return [a for kind in ("ToAddresses", "CcAddresses", "BccAddresses") for a in _addresses(destination.get(kind))]


def _ses(operation: str, params: dict[str, Any], region: str, account: str) -> list[Need]:
    if operation not in ("SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"):
        return [Need(f"ses:{operation}", "*")]
    sender = (_addresses(params.get("Source")) or [None])[0]
    if operation == "SendRawEmail":
        recipients = _addresses(params.get("Destinations"))
    elif operation == "SendBulkTemplatedEmail":
        recipients = [a for bulk in params.get("Destinations", []) for a in _recipients(bulk.get("Destination", {}))]
    else:
        recipients = _recipients(params.get("Destination") or {})
    return _ses_needs(f"ses:{operation}", sender, recipients, region, account)


def _sesv2(operation: str, params: dict[str, Any], region: str, account: str) -> list[Need]:
    if operation != "SendEmail":
        return [Need(f"ses:{operation}", "*")]
    sender = (_addresses(params.get("FromEmailAddress")) or [None])[0]
    return _ses_needs("ses:SendEmail", sender, _recipients(params.get("Destination") or {}), region, account)


_MAPPERS = {"s3": _s3, "dynamodb": _dynamodb, "sqs": _sqs, "sns": _sns, "ses": _ses, "sesv2": _sesv2}


# -- the recorder ----------------------------------------------------------------------------------
class Recorder:
    """Appends each distinct need of this process's calls to ``path`` as a JSON line."""

    def __init__(self, service: str, path: Path) -> None:
        self.service = service
        self.path = path
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._warned = False

    def on_call(self, params: dict[str, Any], model: Any, context: dict[str, Any] | None = None,
                **_: Any) -> None:
        """The botocore handler; never lets a recording problem fail the call."""
        try:
            self.record(model.service_model.service_name, model.name, params, context or {},
                        prefix=model.service_model.signing_name)
        except Exception:  # noqa: BLE001 - the service's work matters more than its audit
            if not self._warned:
                self._warned = True
                log.warning("audit.record_failed", exc_info=True, extra={"operation": getattr(model, "name", None)})

    def record(self, aws: str, operation: str, params: dict[str, Any], context: dict[str, Any],
               prefix: str | None = None) -> None:
        region = context.get("client_region") or os.environ.get("AWS_REGION") or \
            os.environ.get("AWS_DEFAULT_REGION") or "*"
        for need in needs(aws, operation, params, region=region, prefix=prefix):
            entry: dict[str, Any] = {"service": self.service, "aws": aws, "operation": operation,
                                     "action": need.action, "resource": need.resource}
            if need.context:
                entry["context"] = need.context
            if need.note:
                entry["note"] = need.note
            if context.get("is_presign_request"):
                entry["presigned"] = True
            self._write(json.dumps(entry))

    def _write(self, line: str) -> None:
        with self._lock:
            if line in self._seen:
                return
            self._seen.add(line)
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # O_APPEND: gunicorn's forked workers share the file; each line is one write.
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, (line + "\n").encode())


_recorder: Recorder | None = None


def _on_call(**kwargs: Any) -> None:
    if _recorder is not None:
        _recorder.on_call(**kwargs)


def install(service: str, folder: Path) -> Recorder:
    """Record every AWS call of this process (sessions made from now on) to ``<folder>/<service>.jsonl``."""
    global _recorder
    from botocore import handlers

    _recorder = Recorder(service, Path(folder) / f"{service}.jsonl")
    # Every botocore session registers the built-in handlers when it is made: boto3's default session,
    # and the per-thread sessions pynamodb makes for its own clients.
    if (EVENT, _on_call) not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append((EVENT, _on_call))
        import boto3

        if boto3.DEFAULT_SESSION is not None:  # made before: hook it too (its clients made after)
            boto3.DEFAULT_SESSION._session.register(EVENT, _on_call, unique_id="photolane-audit")
    return _recorder


def install_from_env(service: str, environ: Any = os.environ) -> Recorder | None:
    """``install`` when ``PHOTOLANE_AWS_CALL_LOG`` is set (for one of the three services only)."""
    folder = environ.get(ENV)
    if not folder or service not in SERVICES:
        return None
    return install(service, Path(folder))


def uninstall() -> None:
    """Stop recording (sessions made while installed keep a handler that then does nothing)."""
    global _recorder
    from botocore import handlers

    if _recorder is not None and _recorder._fd is not None:
        os.close(_recorder._fd)
    _recorder = None
    if (EVENT, _on_call) in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.remove((EVENT, _on_call))

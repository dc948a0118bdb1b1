"""AWS clients and the two small adapters every service uses: the bucket and a queue."""

from __future__ import annotations

from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from pydantic import BaseModel

from . import messages
from .settings import CommonSettings

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def client(service: str, settings: CommonSettings, **kwargs: Any) -> Any:
    """A boto3 client for the configured region and endpoint (AWS_ENDPOINT_URL)."""
    kwargs.setdefault("config", _CONFIG)
    kwargs.setdefault("endpoint_url", settings.aws_endpoint_url)
    return boto3.client(service, region_name=settings.region, **kwargs)


class MissingObject(KeyError):
    """The key is not in the bucket."""


class BlobStore:
    """The photo bucket: put, get, presign."""

    def __init__(self, s3: Any, bucket: str, presigner: Any | None = None) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.presigner = presigner or s3

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey as exc:
            raise MissingObject(key) from exc

    def upload(self, key: str, file: BinaryIO) -> None:
        """A large object from an open file, streamed (one PutObject: no second copy in memory)."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=file, ContentType="application/octet-stream")

    def download(self, key: str, file: BinaryIO, chunk: int = 8 << 20) -> None:
        """A large object into an open file, streamed."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.s3.exceptions.NoSuchKey as exc:
            raise MissingObject(key) from exc
        while data := body.read(chunk):
            file.write(data)

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def keys_under(self, prefix: str) -> list[str]:
        """The keys of every object whose key starts with ``prefix`` (a page of up to 1,000 at a time)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def delete_under(self, prefix: str) -> int:
        """Every object whose key starts with ``prefix`` (a page of up to 1,000 at a time); how many."""
        deleted = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted

    def url(self, key: str | None, expires: int = 3600) -> str | None:
        if not key:
            return None
        return self.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
        )


class MissingQueue(LookupError):
    """No queue of that name (a reply queue whose client has gone, say)."""


class MessageQueue:
    """Sends typed messages, in their envelope, to one SQS queue."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs = sqs
        self.url = url

    @classmethod
    def named(cls, sqs: Any, name: str) -> MessageQueue:
        try:
            return cls(sqs, sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist as exc:
            raise MissingQueue(name) from exc

    def send(self, data: BaseModel) -> str:
        return self.sqs.send_message(QueueUrl=self.url, MessageBody=messages.encode(data))["MessageId"]

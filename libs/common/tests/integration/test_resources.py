"""The resources the stand-in gets (embedded mode and compose), on a real moto server."""

import json

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.collection import CollectionStore, shard
from photolane_common.domain import DEFAULT_COLLECTION
from photolane_common.models import CollectionModel, FaceModel, PersonModel, PhotoModel, SettingModel
from photolane_common.people import POOLED, PeopleStore
from photolane_common.resources import ensure_resources
from photolane_common.settings import CommonSettings


def test_resources_are_created_once_and_again_without_error(stack: Stack) -> None:
    settings = CommonSettings()
    again = ensure_resources(settings)
    assert again == stack.resources


def test_bucket_is_private_and_encrypted(stack: Stack) -> None:
    s3 = aws.client("s3", CommonSettings())
    block = s3.get_public_access_block(Bucket=stack.resources.bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket=stack.resources.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_each_queue_has_a_dead_letter_queue_after_three_receives(stack: Stack) -> None:
    sqs = aws.client("sqs", CommonSettings())
    for url in (stack.resources.jobs_queue_url, stack.resources.notifications_queue_url):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        policy = json.loads(attrs["RedrivePolicy"])
        assert int(policy["maxReceiveCount"]) == 3
        assert policy["deadLetterTargetArn"].endswith("-dlq")


def test_tables_exist_with_their_configured_names(stack: Stack) -> None:
    assert PhotoModel.Meta.table_name == stack.env["PHOTOLANE_PHOTOS_TABLE"]
    for model in (PhotoModel, PersonModel, SettingModel):
        assert model.exists()


def test_a_table_made_by_an_older_version_gets_the_indexes_added_since(stack: Stack) -> None:
    """A kept local store from before the unknown people's listing: its faces table gains the index."""
    dynamodb = aws.client("dynamodb", CommonSettings())
    table = FaceModel.Meta.table_name
    dynamodb.delete_table(TableName=table)
    dynamodb.create_table(  # as an older version made it: keys only, no index
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "group", "KeyType": "HASH"}, {"AttributeName": "face", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "group", "AttributeType": "S"},
                              {"AttributeName": "face", "AttributeType": "S"}])
    ensure_resources(CommonSettings())
    indexes = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes") or []
    assert [i["IndexName"] for i in indexes] == ["clusters-by-size"]
    assert list(FaceModel.cluster_index.query("unknown")) == []  # and it answers
    ensure_resources(CommonSettings())  # again: nothing to add, no error


def test_a_store_kept_from_before_collections_has_everything_in_the_default_one_after_an_upgrade(
        stack: Stack) -> None:
    """A kept `make run` store made before collections: its people table without the collection index
    and no collections table; after a start its people are the default collection's, new ones go into
    theirs."""
    settings = CommonSettings()
    dynamodb = aws.client("dynamodb", settings)
    people, collections = PersonModel.Meta.table_name, CollectionModel.Meta.table_name
    for table in (people, collections):
        dynamodb.delete_table(TableName=table)
    dynamodb.create_table(  # as the version before made it
        TableName=people, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                              {"AttributeName": "name", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "people-by-name", "KeySchema": [{"AttributeName": "name",
                                                                                 "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    dynamodb.put_item(TableName=people, Item={  # a person as that version wrote them: no collection
        "id": {"S": "ada"}, "name": {"S": "Ada"}, "status": {"S": "enrolled"},
        "created_at": {"S": "2026-01-01T00:00:00.000000+0000"}})
    SettingModel(POOLED).delete()  # nor did it mark its people pooled
    ensure_resources(settings)
    indexes = dynamodb.describe_table(TableName=people)["Table"].get("GlobalSecondaryIndexes") or []
    assert {i["IndexName"] for i in indexes} == {"people-by-name", "people-by-collection"}
    assert not PeopleStore().pooled()
    assert CollectionStore().create("7b", "Class 7B", {}) is not None  # the collections table is there
    PeopleStore().create("bo", "Bo", {}, "people/bo/1.jpg", "7b")
    assert [p.id for p in PeopleStore().every_of(DEFAULT_COLLECTION)] == ["ada"]
    assert [p.id for p in PeopleStore().every_of("7b")] == ["bo"]
    assert PeopleStore().page_of("7b", 10)[0][0].collection == "7b"
    # That first load of the default collection marked ada: from now on it is read by its index
    assert PersonModel.get("ada").pool == f"{DEFAULT_COLLECTION}#{shard('ada')}" and PeopleStore().pooled()
    assert [p.id for p in PeopleStore().every_of(DEFAULT_COLLECTION)] == ["ada"]
    assert [p.id for p in PeopleStore().page_of(DEFAULT_COLLECTION, 10)[0]] == ["ada"]


def test_marking_the_default_collections_people_finishes_after_a_load_stopped_half_way(stack: Stack) -> None:
    """A processor killed while its first load of the default collection marks people from before
    collections: the marker stays unset, and the next load marks the rest."""
    dynamodb = aws.client("dynamodb", CommonSettings())
    for person_id in ("ada", "bo", "cy"):  # as the version before wrote them: no pool
        dynamodb.put_item(TableName=PersonModel.Meta.table_name, Item={
            "id": {"S": person_id}, "name": {"S": person_id}, "status": {"S": "enrolled"},
            "created_at": {"S": "2026-01-01T00:00:00.000000+0000"}})
    SettingModel(POOLED).delete()
    loading = PeopleStore().every_of(DEFAULT_COLLECTION)
    next(loading)
    loading.close()  # killed after its first person
    assert not PeopleStore().pooled()
    assert sum(PersonModel.get(p).pool is not None for p in ("ada", "bo", "cy")) == 1
    assert sorted(p.id for p in PeopleStore().every_of(DEFAULT_COLLECTION)) == ["ada", "bo", "cy"]
    assert PeopleStore().pooled() and all(PersonModel.get(p).pool for p in ("ada", "bo", "cy"))


def test_a_new_people_table_needs_no_marking(stack: Stack) -> None:
    assert PeopleStore().pooled()  # made by ensure_resources: the default collection is read by its index

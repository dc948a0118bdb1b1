"""Alarms: a dead letter anywhere, and a job (or notification) waiting too long."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from photolane_common.resources import MAX_RECEIVE_COUNT

from .data import WorkQueue

# Workers scale from zero; after hours of idling SQS may report depth up to 15 minutes late, so a
# first job can wait that long. Twice that is a stuck pipeline.
OLDEST_JOB_ALARM = Duration.minutes(30)


class Alarms(Construct):
    """Every alarm notifies one topic (mailed to ``email`` when given)."""

    def __init__(self, scope: Construct, id: str, *, queues: dict[str, WorkQueue], email: str | None) -> None:
        super().__init__(scope, id)
        # Unencrypted on purpose: CloudWatch cannot publish to a topic under the AWS-managed SNS key,
        # and it carries alarm states only (see the AwsSolutions-SNS2 acknowledgement in nag.py).
        self.topic = sns.Topic(self, "Topic", enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        for name, work in queues.items():
            what = name.lower()
            self._alarm(f"{name}DeadLetters", work.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"), 1,
                f"photolane: a {what} message failed {MAX_RECEIVE_COUNT} times or could not be read "
                "(see its dead-letter queue)")
            self._alarm(f"{name}OldestMessage", work.queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(1), statistic="Maximum"), OLDEST_JOB_ALARM.to_seconds(),
                f"photolane: a {what} message has waited over {OLDEST_JOB_ALARM.to_minutes()} minutes")

    def _alarm(self, id: str, metric: cloudwatch.Metric, threshold: float, description: str) -> None:
        alarm = metric.create_alarm(
            self, id,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))

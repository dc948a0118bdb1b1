"""Alarms: a dead letter anywhere, a job (or notification) waiting too long, SMS spend near its limit,
the day's SMS ceiling nearly used or an SMS made to wait by it, too many photos failing; and the
account's SMS spend limit itself."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import custom_resources as cr
from constructs import Construct

from photolane_common.metrics import NOTIFICATIONS, PHOTOS_FAILED, PHOTOS_PROCESSED, SMS_CEILING_USED
from photolane_common.resources import MAX_RECEIVE_COUNT

from .data import WorkQueue

# Workers scale from zero; after hours of idling SQS may report depth up to 15 minutes late, so a
# first job can wait that long. Twice that is a stuck pipeline.
OLDEST_JOB_ALARM = Duration.minutes(30)
SMS_SPEND_ALARM_FRACTION = 0.8  # of the monthly limit: time to look before SNS stops sending
# Photos failing (unreadable images are refused at upload, so a failure is rare): more than this share
# of the photos finished in the window, once at least FAILURE_RATE_MIN_PHOTOS finished (one bad file
# among three is not an incident).
FAILURE_RATE_PERCENT = 5
FAILURE_RATE_WINDOW = Duration.minutes(15)
FAILURE_RATE_MIN_PHOTOS = 10
# The notifier's deployment-wide SMS ceiling (its ceiling.py): an alarm once this share of the day's is used
# (before any SMS has to wait), and one when an SMS waits (deferred: the hour's or the day's is full).
SMS_CEILING_ALARM_PERCENT = 80
SMS_CEILING_WINDOW = Duration.minutes(5)


class Alarms(Construct):
    """Every alarm notifies one topic (mailed to ``email`` when given)."""

    def __init__(self, scope: Construct, id: str, *, queues: dict[str, WorkQueue], email: str | None) -> None:
        super().__init__(scope, id)
        # Unencrypted on purpose: CloudWatch cannot publish to a topic under the AWS-managed SNS key,
        # and it carries alarm states only (see the AwsSolutions-SNS2 acknowledgement in nag.py).
        self.topic = sns.Topic(self, "Topic", enforce_ssl=True)
        self.sms_spend_limit: cr.AwsCustomResource | None = None  # limit_sms_spend
        self.alarms: list[cloudwatch.Alarm] = []  # every alarm made here (the dashboard shows their state)
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

    def limit_sms_spend(self, limit_usd: int) -> None:
        """Sets the account's SNS SMS spend limit (SetSMSAttributes MonthlySpendLimit: CloudFormation
        has no resource for it) and alarms at SMS_SPEND_ALARM_FRACTION of it. The limit is account-wide
        in this region; deleting the stack leaves it as it is. SNS refuses a value above the account's
        quota (1 USD for a new account, raised by a support case), which fails the deploy."""
        call = cr.AwsSdkCall(
            service="SNS", action="setSMSAttributes",
            parameters={"attributes": {"MonthlySpendLimit": str(limit_usd)}},
            physical_resource_id=cr.PhysicalResourceId.of("sms-monthly-spend-limit"),
        )
        self.sms_spend_limit = cr.AwsCustomResource(
            self, "SmsSpendLimit",
            on_create=call, on_update=call,  # no on_delete: the limit stays, spend stays capped
            policy=cr.AwsCustomResourcePolicy.from_statements([iam.PolicyStatement(
                actions=["sns:SetSMSAttributes"], resources=["*"])]),  # no resource-level permission
            install_latest_aws_sdk=False,
        )
        # Account-wide, no dimension; SNS reports it now and then: a missing hour keeps the state.
        spent = cloudwatch.Metric(namespace="AWS/SNS", metric_name="SMSMonthToDateSpentUSD",
                                  period=Duration.hours(1), statistic="Maximum")
        threshold = round(limit_usd * SMS_SPEND_ALARM_FRACTION, 2)
        self._alarm("SmsSpend", spent, threshold,
                    f"photolane: SMS spend this month is {threshold} USD or more; SNS stops sending SMS at "
                    f"{limit_usd} USD (sms_monthly_limit_usd)", missing=cloudwatch.TreatMissingData.IGNORE)

    def watch_failures(self, namespace: str) -> None:
        """Alarms when more than FAILURE_RATE_PERCENT of the photos finished in FAILURE_RATE_WINDOW failed
        (the processor's PhotosProcessed and PhotosFailed, from its metric log lines), with enough of them."""
        processed, failed = (cloudwatch.Metric(namespace=namespace, metric_name=name, statistic="Sum",
                                               dimensions_map={"service": "processor"}, period=FAILURE_RATE_WINDOW)
                             for name in (PHOTOS_PROCESSED, PHOTOS_FAILED))
        rate = cloudwatch.MathExpression(
            expression=f"IF(processed + failed >= {FAILURE_RATE_MIN_PHOTOS}, 100 * failed / (processed + failed), 0)",
            using_metrics={"processed": processed, "failed": failed}, period=FAILURE_RATE_WINDOW,
            label="photos failed (%)")
        self._alarm("PhotoFailureRate", rate, FAILURE_RATE_PERCENT,
                    f"photolane: over {FAILURE_RATE_PERCENT} % of the photos finished in "
                    f"{FAILURE_RATE_WINDOW.to_minutes()} minutes failed (of {FAILURE_RATE_MIN_PHOTOS} or more); "
                    "see the processor's photo.failed log lines", strictly=True)

    def watch_sms_ceiling(self, namespace: str) -> None:
        """The notifier's SMS ceiling (SMS parts a day and an hour for every recipient together, from the
        month's budget): an alarm at SMS_CEILING_ALARM_PERCENT of the day's (its SmsCeilingUsed, the
        largest in the window), and one as soon as an SMS is deferred (Notifications, status deferred)."""
        used = cloudwatch.Metric(
            namespace=namespace, metric_name=SMS_CEILING_USED, statistic="Maximum", period=SMS_CEILING_WINDOW,
            dimensions_map={"service": "notifier"})
        deferred = cloudwatch.Metric(
            namespace=namespace, metric_name=NOTIFICATIONS, statistic="Sum", period=SMS_CEILING_WINDOW,
            dimensions_map={"service": "notifier", "channel": "sms", "status": "deferred"})
        self._alarm("SmsCeilingNear", used, SMS_CEILING_ALARM_PERCENT,
                    f"photolane: {SMS_CEILING_ALARM_PERCENT} % of today's SMS ceiling is used (every recipient "
                    "together); SMS over it wait (deferred) until the window reopens. Many uploads with phones: "
                    "see the Notifications graph and the upload service's rate-limit refusals",
                    # Emitted with each SMS: no SMS keeps the state; the next day's first SMS brings it back to OK.
                    missing=cloudwatch.TreatMissingData.IGNORE)
        self._alarm("SmsDeferred", deferred, 1,
                    "photolane: an SMS waits (deferred): the hour's or the day's SMS ceiling is reached; it goes "
                    "out when the window reopens (the ceiling: the notifier's PHOTOLANE_SMS_SEGMENTS_PER_HOUR and "
                    "PHOTOLANE_SMS_SEGMENTS_PER_DAY, else from the month's budget, sms_monthly_limit_usd)")

    def _alarm(self, id: str, metric: cloudwatch.IMetric, threshold: float, description: str,
               missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
               strictly: bool = False) -> None:
        alarm = metric.create_alarm(
            self, id,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=(cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD if strictly
                                 else cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD),
            treat_missing_data=missing,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

"""Amazon SNS: standard topics whose subscribers are HTTP/S endpoints, which cloudlet really
POSTs to (delivery.py), with AWS's message JSON, headers and signatures (signing.py), filter
policies (filter_policy.py) and delivery policies. CloudWatch's alarm actions publish through
delivery.publish()."""

from __future__ import annotations

import time

from . import delivery, records, signing
from .errors import invalid
from .publishing import PublishingAPI
from .subscriptions import SubscriptionsAPI, confirm, unsubscribe
from .topics import TopicsAPI

class SNS(TopicsAPI, SubscriptionsAPI, PublishingAPI):
    def __init__(self, config, store):
        self.config = config
        self.store = store
        delivery.configure(config)

    def certificate(self) -> bytes:
        """The PEM certificate a message's SigningCertURL serves (signing.CERT_PATH); the key is
        made on first use, so that starting a server does not wait for it."""
        return signing.signer(self.store).certificate

    def follow_link(self, action: str, params: dict) -> dict:
        """An unsigned SubscribeURL or UnsubscribeURL, as AWS answers them: the token, or the
        subscription's ARN, is the only credential, and it names all the link may act on. A link
        that names nothing is answered from a read alone: strangers take no write lock."""
        now = time.time()
        if action == "ConfirmSubscription":
            topic_arn, token = params["TopicArn"], params["Token"]
            region, account = records.topic_arn_parts(topic_arn)
            if region not in self.config.regions:
                raise invalid("TopicArn")
            with self.store.scoped(account, region, write=False) as db:
                if records.token_holder(db, topic_arn, token, now) is None:
                    raise invalid("Token")
            with self.store.scoped(account, region) as db:
                return {"SubscriptionArn": confirm(db, topic_arn, token, False, False)}
        arn = params["SubscriptionArn"]
        _, region, account = records.subscription_arn_parts(arn)
        if region not in self.config.regions:
            raise invalid("SubscriptionArn")
        with self.store.scoped(account, region, write=False) as db:
            if records.get_subscription(db, arn, now) is None:
                return {}
        with self.store.scoped(account, region) as db:
            confirmation = unsubscribe(self.store, db, arn, signed=False)
        if confirmation:
            confirmation()
        return {}

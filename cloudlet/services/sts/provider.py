"""STS: who am I."""


class STS:
    def __init__(self, config, store):
        self.config = config
        self.store = store

    def get_caller_identity(self, ctx, request):
        cred = ctx.credential
        return {
            "UserId": cred.user_id,
            "Account": cred.account_id,
            "Arn": f"arn:aws:iam::{cred.account_id}:user/{cred.user_name}",
        }

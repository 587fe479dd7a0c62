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
            "Arn": ctx.caller_arn,
        }

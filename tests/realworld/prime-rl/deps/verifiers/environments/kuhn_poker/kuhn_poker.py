"""Stand-in for the kuhn_poker environment (tests/realworld/prime-rl/ADAPTED.md)."""


def load_environment(**kwargs):
    raise NotImplementedError("stand-in")

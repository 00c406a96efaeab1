"""Stand-in for the proposer_solver environment (tests/realworld/prime-rl/ADAPTED.md)."""


def load_environment(**kwargs):
    raise NotImplementedError("stand-in")

"""Stand-in for the wordle environment (tests/realworld/prime-rl/ADAPTED.md)."""


def load_environment(**kwargs):
    raise NotImplementedError("stand-in")

"""Stand-in for the reverse_text environment (tests/realworld/prime-rl/ADAPTED.md)."""


def load_environment(**kwargs):
    raise NotImplementedError("stand-in")

"""Stand-in for the gsm8k environment (tests/realworld/prime-rl/ADAPTED.md)."""


def load_environment(**kwargs):
    raise NotImplementedError("stand-in")

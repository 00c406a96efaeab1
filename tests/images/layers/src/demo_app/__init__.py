"""The application code of the demo image."""

def hello() -> str:
    return "hello from demo-app"

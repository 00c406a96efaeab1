"""The commands of `uvscope`, one module each: `cli.py` builds the parser and calls the one a user names.

Each module's `*_command(args)` takes the parsed arguments and returns the exit code; the work is done by
`uvscope.analysis`, imported where used so that `uvscope IMAGE` paints its first screen sooner.
"""

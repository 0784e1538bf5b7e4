"""Subcommands of `livepuppet`; each module has `register(subparsers)` setting `handler`."""

"""One module per `curate` command group; each exposes `add_commands(subparsers)`."""

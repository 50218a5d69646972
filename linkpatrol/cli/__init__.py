"""The command line: `linkpatrol ...` commands, `linkpatrol check`, the launcher of `make run`, the embedded Redis."""

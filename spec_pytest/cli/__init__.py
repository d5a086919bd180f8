"""The `spec-pytest` command line: one module per subcommand family, `main` dispatches."""

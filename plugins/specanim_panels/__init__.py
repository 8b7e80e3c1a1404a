"""specanim's built-in panels: ordinary plugins, one module per entry point."""

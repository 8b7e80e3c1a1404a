"""specanim's built-in executors: ordinary plugins, one module per entry point."""

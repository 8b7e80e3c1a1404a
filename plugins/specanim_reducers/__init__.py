"""specanim's built-in reducers: ordinary plugins, one module per entry point."""

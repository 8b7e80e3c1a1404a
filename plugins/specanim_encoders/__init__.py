"""specanim's built-in encoders: ordinary plugins, one module per entry point."""

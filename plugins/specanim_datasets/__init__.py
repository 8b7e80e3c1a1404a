"""specanim's built-in datasets: ordinary plugins, one module per entry point."""

"""specanim's built-in encoders: ordinary plugins, each module registered through the 'specanim' entry points."""

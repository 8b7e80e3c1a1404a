"""specanim's built-in panels: ordinary plugins, each module registered through the 'specanim' entry points."""

"""specanim's built-in datasets: ordinary plugins, each module registered through the 'specanim' entry points."""

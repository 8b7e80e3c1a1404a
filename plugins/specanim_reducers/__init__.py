"""specanim's built-in reducers: ordinary plugins, each module registered through the 'specanim' entry points."""

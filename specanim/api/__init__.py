"""specanim from Python: scenes from specs, arrays or snapshots, shown in notebooks, rendered
one by one or in batches."""

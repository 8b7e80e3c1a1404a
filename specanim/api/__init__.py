"""specanim from Python: scenes from specs, arrays or snapshots, shown in notebooks, rendered
one by one or in batches."""

from specanim.api.notebook import show_user_errors

show_user_errors()  # in IPython: specanim's mistakes as one line each, not a traceback

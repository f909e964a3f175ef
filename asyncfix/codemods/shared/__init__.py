"""Code several families share and none owns: the async_def plan, which the async_def
family applies and the awaits family reads (`async_def_plan.planned_for`)."""

"""Code several families share and none owns: the async_def plan, which the async_def
family applies and the awaits family reads (`async_def_plan.planned_for`); the lifespan
builder, the pool options and the project's apps and event registrations, which the
lifespan and http_client families both use (`lifespan_builder`, `pool_options`,
`app_events`); what the lifespan rules match, described once for their stdlib-ast and
libcst sides (`lifespan_sites`), and FastAPI's route decorators (`routes`), neither of
which imports libcst."""

"""A run's configuration: the option table (`table`, standard library only), pytest's ini
search (`inifile`) and the `RunConfig` built from them (`build`).

Nothing is imported here, so the pytest plugin can declare its options from the table
without loading the pipeline: a pytest run that names no spec pays only for the table.
"""

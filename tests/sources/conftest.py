from .replay import isolated_env, replay  # noqa: F401  (fixtures)

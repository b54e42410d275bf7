import wheelyard_fixture_not_on_any_index  # not declared in [project] dependencies

__all__ = ["wheelyard_fixture_not_on_any_index"]

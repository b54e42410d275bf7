"""Recipe loading: defaults, precedence, and every error path with its exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from wheelyard.config import load_recipe
from wheelyard.config.model import Groups
from wheelyard.config.vocab import Channel, Platform
from wheelyard.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return tmp_path


def messages(exc: ConfigError) -> list[str]:
    return [p.render() for p in exc.problems]


def test_defaults_without_a_table(projects: Path) -> None:
    loaded = load_recipe(projects / "no-table")
    recipe = loaded.recipe
    assert recipe.variants == ["cpu"]
    assert recipe.python == [">=3.10"]
    assert recipe.platforms == [Platform.LINUX_X86_64]
    assert recipe.channel is None  # the package's own version, not rewritten
    assert recipe.consolidation == "per-variant"
    assert loaded.project_name == "no-table"
    assert loaded.project_version == "0.1.0"
    assert loaded.source_of("variants") == "built-in default"


def test_accepts_a_pyproject_file_path(projects: Path) -> None:
    loaded = load_recipe(projects / "matrix-4x6" / "pyproject.toml")
    assert loaded.recipe.variants == ["cpu", "cu126", "cu128", "cu130"]


def test_single_strings_become_lists(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.wheelyard]\nvariants = "cu128"\npython = ">=3.12"\n')
    recipe = load_recipe(path).recipe
    assert recipe.variants == ["cu128"]
    assert recipe.python == [">=3.12"]


def test_precedence_pyproject_farm_profile_env(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
[project]
name = "prec"
version = "1.0"
[tool.wheelyard]
variants = ["cpu"]
python = ["cp310"]
channel = "test"
consolidation = "per-python"
[tool.wheelyard.environment]
A = "from-pyproject"
B = "from-pyproject"
[tool.wheelyard.profiles.pr]
python = ["cp312"]
""",
    )
    farm = tmp_path / "farm.toml"
    farm.write_text(
        '[tool.wheelyard]\nvariants = ["cpu", "cu128"]\npython = ["cp311"]\n'
        '[tool.wheelyard.environment]\nB = "from-farm"\n',
        encoding="utf-8",
    )
    loaded = load_recipe(
        tmp_path,
        farm_recipe=farm,
        profile="pr",
        environ={"WHEELYARD_CHANNEL": "release", "WHEELYARD_CONSOLIDATION": "groups=3"},
    )
    recipe = loaded.recipe
    assert recipe.variants == ["cpu", "cu128"]  # farm over pyproject
    assert recipe.python == ["cp312"]  # profile over farm
    assert recipe.channel is Channel.RELEASE  # env over everything
    assert recipe.consolidation == Groups(groups=3)
    assert recipe.environment == {"A": "from-pyproject", "B": "from-farm"}  # tables merge
    assert loaded.source_of("variants") == f"farm recipe {farm}"
    assert loaded.source_of("python").endswith("(profile)")
    assert loaded.source_of("channel") == "environment WHEELYARD_CHANNEL"
    assert loaded.source_of("environment.A") == f"{tmp_path / 'pyproject.toml'} [tool.wheelyard]"


def test_env_lists_split_on_commas_and_spaces(projects: Path) -> None:
    loaded = load_recipe(
        projects / "no-table",
        environ={"WHEELYARD_VARIANTS": "cpu, cu128 cu130", "WHEELYARD_PYTHON": '["cp312"]'},
    )
    assert loaded.recipe.variants == ["cpu", "cu128", "cu130"]
    assert loaded.recipe.python == ["cp312"]


def test_missing_pyproject(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(tmp_path)
    assert messages(info.value) == [f"{tmp_path / 'pyproject.toml'}: no pyproject.toml found"]
    assert info.value.hint is not None and "package directory" in info.value.hint
    assert info.value.exit_code == 2


def test_toml_syntax_error(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "bad-toml")
    [problem] = info.value.problems
    assert problem.source == str(projects / "bad-toml" / "pyproject.toml")
    assert problem.message.startswith("TOML syntax error: ")


def test_unknown_key_suggests_the_right_one(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "unknown-keys")
    source = f"{projects / 'unknown-keys' / 'pyproject.toml'} [tool.wheelyard]"
    assert messages(info.value) == [f"{source}: varients: unknown key (did you mean 'variants'?)"]


def test_all_problems_reported_together(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "many-errors")
    source = f"{projects / 'many-errors' / 'pyproject.toml'} [tool.wheelyard]"
    assert messages(info.value) == [
        f"{source}: variants.1: String should match pattern '^[0-9a-z_.]+$', got 'CU128'",
        f"{source}: python: '3.12' is neither an interpreter identifier (cp312, cp314t), "
        "a version range ('>=3.10'), 'abi3' nor 'py3'",
        f"{source}: platforms: unknown platform 'linux-x86-64', did you mean 'linux-x86_64'?",
        f"{source}: channel: Input should be 'nightly', 'test' or 'release', got 'weekly'",
        f"{source}: consolidation: unknown consolidation 'per-varient', did you mean "
        "'per-variant'?; use 'per-variant', 'per-python' or { groups = N }",
        f"{source}: smoke-tset: unknown key (did you mean 'smoke-test'?)",
        f"{source}: profiles.pr.pythn: unknown key (did you mean 'python'?)",
    ]
    assert "7 problems" in info.value.message


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'python = ["abi3", "py3"]',
            "python: 'abi3' and 'py3' exclude each other: choose one wheel kind",
        ),
        ('variants = ["cpu", "cpu"]', "variants: listed more than once: cpu"),
        ("variants = []", "variants: List should have at least 1 item after validation, not 0"),
        (
            'torch = "2.9"',
            "torch: '2.9' is not a version specifier; write e.g. '==2.9.*' or '>=2.8,<2.10'",
        ),
        (
            "consolidation = { groups = 0 }",
            "consolidation: 'groups' must be a whole number from 1 to 64",
        ),
        (
            "consolidation = { group = 2 }",
            "consolidation: unknown key(s) group: only 'groups' is allowed",
        ),
        (
            'needs-gpu-test = "sometimes"',
            "needs-gpu-test: Input should be a valid boolean, unable to interpret input, got 'sometimes'",
        ),
        (
            'packages = ["../elsewhere"]',
            "packages: '../elsewhere' must be a relative path inside the repository",
        ),
        (
            "catalog = { flavours = {} }",
            "catalog: unknown catalog table(s) flavours: only 'variants', 'runners', 'providers' and 'torch'",
        ),
        ("profiles = { PR = {} }", "profiles: profile name 'PR' must match ^[a-z0-9][a-z0-9_-]*$"),
        ("profiles = { pr = { profiles = {} } }", "profiles: profile 'pr' cannot set 'profiles'"),
    ],
)
def test_value_errors(tmp_path: Path, table: str, expected: str) -> None:
    write(tmp_path, f"[tool.wheelyard]\n{table}\n")
    with pytest.raises(ConfigError) as info:
        load_recipe(tmp_path)
    source = f"{tmp_path / 'pyproject.toml'} [tool.wheelyard]"
    assert messages(info.value) == [f"{source}: {expected}"]


def test_unknown_profile(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "profiles", profile="rp")
    [problem] = info.value.problems
    assert problem.key == "profiles.rp"
    assert problem.message == "no profile named 'rp'"
    assert problem.hint == "defined: pr"


def test_profile_typo_is_suggested(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "profiles", profile="pr2")
    assert info.value.problems[0].hint == "did you mean 'pr'?"


def test_unknown_environment_variable(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "no-table", environ={"WHEELYARD_VARIENTS": "cpu"})
    [problem] = info.value.problems
    assert problem.source == "environment WHEELYARD_VARIENTS"
    assert problem.hint == "did you mean 'WHEELYARD_VARIANTS'?"


def test_env_value_errors_name_the_variable(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "no-table", environ={"WHEELYARD_CHANNEL": "weekly"})
    assert messages(info.value) == [
        "environment WHEELYARD_CHANNEL: channel: Input should be 'nightly', 'test' or "
        "'release', got 'weekly'"
    ]


def test_reserved_environment_is_not_a_recipe_key(projects: Path) -> None:
    loaded = load_recipe(
        projects / "no-table",
        environ={"WHEELYARD_DEBUG": "1", "WHEELYARD_SETUP_PYTHON": "python3.12"},
    )
    assert loaded.recipe.variants == ["cpu"]


def test_farm_recipe_errors_name_the_farm_file(projects: Path, tmp_path: Path) -> None:
    farm = tmp_path / "farm.toml"
    farm.write_text('variants = ["cpu"]\nchanel = "test"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_recipe(projects / "no-table", farm_recipe=farm)
    assert messages(info.value) == [
        f"farm recipe {farm}: chanel: unknown key (did you mean 'channel'?)"
    ]


def test_cibuildwheel_table_is_kept(tmp_path: Path) -> None:
    write(tmp_path, '[tool.cibuildwheel]\nbefore-build = "echo hi"\n')
    assert load_recipe(tmp_path).cibuildwheel == {"before-build": "echo hi"}


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('system-packages = { pacman = ["x"] }', "unknown package manager(s) pacman"),
        ('system-packages = ["libyaml-dev; rm -rf /"]', "not a package name"),
        ('cibuildwheel = { before_all = "x" }', "'before_all' is not a cibuildwheel option"),
    ],
)
def test_bad_system_packages_and_cibuildwheel_keys(
    tmp_path: Path, table: str, fragment: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n[tool.wheelyard]\n{table}\n')
    with pytest.raises(ConfigError) as info:
        load_recipe(tmp_path, environ={})
    assert fragment in str(info.value)

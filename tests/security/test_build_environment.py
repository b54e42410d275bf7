"""A build receives only what wheelyard passes: no host secret reaches cibuildwheel or, through
a package's own ``environment-pass``, its container; compiler caches are per package."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from wheelyard.builder.job import JobSettings, container_limits
from wheelyard.builder.options import compose, host_environment, host_variable_allowed
from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.vocab import Platform
from wheelyard.plan import make_plan

PROJECTS = Path(__file__).parents[1] / "projects"


def test_the_host_environment_a_build_sees_has_no_secrets() -> None:
    host = {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "PIP_INDEX_URL": "https://mirror/simple",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca.pem",
        "AWS_SECRET_ACCESS_KEY": "s3-secret",
        "FARM_SECRET": "farm-secret",
        "WHEELYARD_FARM_TOKEN": "token",
        "CIBW_BUILD": "*",
    }
    assert host_environment(host) == {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "PIP_INDEX_URL": "https://mirror/simple",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca.pem",
    }


def test_a_packages_environment_pass_cannot_name_a_secret() -> None:
    loaded = load_recipe(PROJECTS / "no-table")
    [job] = [
        j
        for j in make_plan(loaded, load_catalog(), host=Platform.LINUX_X86_64).jobs
        if j.variant == "cpu"
    ]
    hostile = replace(
        loaded,
        cibuildwheel={
            "environment-pass": ["FARM_SECRET", "AWS_SECRET_ACCESS_KEY", "HTTPS_PROXY"],
            "linux": {"environment-pass": ["WHEELYARD_FARM_TOKEN"]},
        },
    )
    options = compose(
        job, hostile, build_env={}, pythons=["cp312"], image="img", container_engine="podman"
    )
    assert options.package_options["environment-pass"] == ["HTTPS_PROXY"]
    assert options.package_options["linux"]["environment-pass"] == []
    [note] = [n for n in options.notes if n.startswith("environment-pass:")]
    assert "AWS_SECRET_ACCESS_KEY, FARM_SECRET, WHEELYARD_FARM_TOKEN refused" in note
    assert not any("SECRET" in value for value in options.env.values())


def test_installer_credentials_never_reach_a_build_whatever_their_prefix() -> None:
    """``PIP_``/``UV_`` settings pass (a mirror, a cache folder); their credentials do not."""
    host = {
        "UV_CACHE_DIR": "/cache/uv",
        "UV_PUBLISH_TOKEN": "pypi-HOSTPUBTOKEN",
        "UV_INDEX_PRIV_PASSWORD": "idxpass",
        "UV_INDEX_PRIV_USERNAME": "me",
        "PIP_INDEX_URL": "https://user:pipsecret@127.0.0.1/simple",
        "UV_EXTRA_INDEX_URL": "https://mirror.example/simple",
        "PIP_KEYRING_PROVIDER": "subprocess",
    }
    assert host_environment(host) == {
        "UV_CACHE_DIR": "/cache/uv",
        "UV_EXTRA_INDEX_URL": "https://mirror.example/simple",
    }
    for name in ("UV_PUBLISH_TOKEN", "UV_INDEX_PRIV_PASSWORD", "PIP_KEYRING_PROVIDER"):
        assert not host_variable_allowed(name)


def test_a_build_container_has_memory_and_process_limits() -> None:
    settings = JobSettings(output=Path("/tmp/out"), memory_bytes=2 * 1024**3, pids_limit=512)
    assert container_limits(settings) == ["--memory=2147483648b", "--pids-limit=512"]
    assert JobSettings(output=Path("/tmp/out")).memory_bytes >= 1024**3

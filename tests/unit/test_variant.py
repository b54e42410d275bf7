"""wheel/variant.py, variants_json.py, convert.py: PEP 825 names, documents and conversion."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
import pytest

from variant_wheelhouse import make_built_wheel
from wheelyard.catalog import load_catalog
from wheelyard.errors import VariantError, WheelError
from wheelyard.wheel.archive import Wheel, parse_record, record_hash
from wheelyard.wheel.convert import (
    WheelKind,
    check_release_metadata,
    make_fallback_wheel,
    make_legacy_wheel,
    make_variant_wheel,
)
from wheelyard.wheel.variant import (
    VARIANT_FORMAT,
    Variant,
    VariantProperty,
    check_distinct,
    parse_variant_filename,
    variant_of,
)
from wheelyard.wheel.variants_json import (
    Provider,
    VariantMetadata,
    merge_metadata,
    parse_variant_metadata,
    variants_json_filename,
)

REPO = Path(__file__).parents[2]
SCHEMA = json.loads(
    (REPO / "schema" / "pep825" / "variant-schema-0.1.1.json").read_text(encoding="utf-8")
)
CATALOG = load_catalog()
NAMESPACES = ("nvidia", "amd", "intel")


def catalog_variant(name: str) -> Variant:
    return variant_of(name, CATALOG.variant(name).properties)


PROVIDERS = {
    ns: Provider(requires=tuple(e.requires), plugin_api=e.plugin_api)
    for ns, e in CATALOG.providers.items()
}


def release(*names: str) -> VariantMetadata:
    variants = [catalog_variant(n) for n in names]
    return VariantMetadata(
        namespaces=NAMESPACES, variants={v.label: v for v in variants}, providers=PROVIDERS
    )


def validate(doc: dict[str, object]) -> None:
    """The PEP 825 part against the pinned schema (which forbids keys it does not define), and
    the providers table installers need: exactly one provider per listed namespace."""
    providers = doc.get("providers")
    assert isinstance(providers, dict)
    priorities = doc["default-priorities"]
    assert isinstance(priorities, dict)
    assert list(providers) == priorities["namespace"]
    assert all(p["requires"] and ":" in p["plugin-api"] for p in providers.values())
    jsonschema.validate({k: v for k, v in doc.items() if k != "providers"}, SCHEMA)


def test_the_pinned_schema_is_the_format_constant() -> None:
    assert SCHEMA["$id"] == VARIANT_FORMAT.schema_url
    assert VARIANT_FORMAT.version in SCHEMA["title"]


def test_properties_parse_and_print() -> None:
    prop = VariantProperty.parse("nvidia :: cuda_version_lower_bound :: 12.8")
    assert prop == VariantProperty("nvidia", "cuda_version_lower_bound", "12.8")
    assert str(prop) == "nvidia :: cuda_version_lower_bound :: 12.8"
    with pytest.raises(VariantError, match="not a variant property"):
        VariantProperty.parse("nvidia :: 12.8")
    with pytest.raises(VariantError, match="namespace 'NVIDIA'"):
        VariantProperty.parse("NVIDIA :: sm_arch :: 90_real")


def test_catalog_variants_become_labels_cpu_is_null() -> None:
    assert catalog_variant("cpu") == Variant(label="null", properties=frozenset())
    cu128 = catalog_variant("cu128")
    assert cu128.label == "cu128"
    assert VariantProperty("nvidia", "sm_arch", "90_real") in cu128.properties
    assert catalog_variant("rocm7.0").label == "rocm7.0"


def test_unknown_namespace_and_bad_labels_are_errors() -> None:
    with pytest.raises(VariantError, match="unknown property namespace"):
        variant_of("cu999", ["acme :: flux :: 1"])
    with pytest.raises(VariantError, match="must match"):
        variant_of("CU128", ["nvidia :: sm_arch :: 90_real"])
    with pytest.raises(VariantError, match="reserved"):
        Variant(label="null", properties=frozenset({VariantProperty("x86_64", "level", "v3")}))


def test_label_clashes_are_errors() -> None:
    a = catalog_variant("cu128")
    with pytest.raises(VariantError, match="same properties"):
        check_distinct([a, Variant(label="cuda128", properties=a.properties)])
    with pytest.raises(VariantError, match="two property sets"):
        check_distinct([a, Variant(label="cu128", properties=catalog_variant("cu126").properties)])


@pytest.mark.parametrize(
    ("filename", "base", "label"),
    [
        (
            "cuda_kernels-0.1.0-cp312-cp312-manylinux_2_35_x86_64-cu128.whl",
            "cuda_kernels-0.1.0-cp312-cp312-manylinux_2_35_x86_64.whl",
            "cu128",
        ),
        ("numpy-2.3.2-1-cp313-cp313t-musllinux_1_2_x86_64-null.whl", None, "null"),
        ("numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64.whl", None, None),
        ("numpy-2.3.2-1-cp313-cp313t-musllinux_1_2_x86_64.whl", None, None),
    ],
)
def test_variant_file_names(filename: str, base: str | None, label: str | None) -> None:
    name = parse_variant_filename(filename)
    assert name.label == label
    assert name.filename == filename
    if base is not None:
        assert name.wheel.filename == base


def test_a_bad_label_in_a_file_name_is_an_error() -> None:
    with pytest.raises(VariantError):
        parse_variant_filename("x-1.0-cp312-cp312-linux_x86_64-CU128.whl")
    with pytest.raises(WheelError):
        parse_variant_filename("x-1.0.tar.gz")


def test_variant_json_and_variants_json_validate_against_the_pinned_schema() -> None:
    metadata = release("cpu", "cu126", "cu128")
    validate(json.loads(metadata.render()))
    single = metadata.only("cu128")
    validate(json.loads(single.render()))
    assert list(json.loads(single.render())["variants"]) == ["cu128"]
    values = json.loads(single.render())["variants"]["cu128"]["nvidia"]["sm_arch"]
    assert values == sorted(values)  # PEP 825: values sorted lexically


def test_documents_round_trip() -> None:
    metadata = release("cpu", "cu128")
    assert parse_variant_metadata(metadata.render(), source="x") == metadata


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update({"$schema": "https://variants-schema.wheelnext.dev/v0.2.0.json"}),
            "not supported",
        ),
        (lambda d: d.update({"providers": {}}), "providers name"),
        (lambda d: d.update({"provider": {}}), "unknown key"),
        (
            lambda d: d.update({"providers": {"nvidia": {"requires": [], "enable-if": "x"}}}),
            "unknown key.s. enable-if",
        ),
        (lambda d: d["default-priorities"].update({"namespace": []}), "non-empty list"),
        (lambda d: d["variants"].update({"null": {"nvidia": {"sm_arch": ["90_real"]}}}), "null"),
        (lambda d: d["variants"]["cu128"]["nvidia"].update({"sm_arch": []}), "non-empty list"),
        (lambda d: d["default-priorities"].update({"namespace": ["amd"]}), "lacks nvidia"),
    ],
)
def test_malformed_documents_are_refused(change: object, message: str) -> None:
    data = json.loads(release("cpu", "cu128").render())
    assert callable(change)
    change(data)
    with pytest.raises(VariantError, match=message):
        parse_variant_metadata(json.dumps(data), source="variants.json")


def test_a_wheel_holds_exactly_one_variant() -> None:
    with pytest.raises(VariantError, match="exactly one"):
        parse_variant_metadata(release("cpu", "cu128").render(), source="variant.json", single=True)


def test_merging_is_order_independent_and_checks_prefixes_and_labels() -> None:
    a = release("cu126").only("cu126")
    b = VariantMetadata(namespaces=("nvidia",), variants={"null": catalog_variant("cpu")})
    assert merge_metadata([a, b], source="s") == merge_metadata([b, a], source="s")
    assert merge_metadata([a, b], source="s").namespaces == NAMESPACES
    c = VariantMetadata(namespaces=("amd",), variants={})
    with pytest.raises(VariantError, match="one list must start with the other"):
        merge_metadata([a, c], source="s")
    clash = VariantMetadata(
        namespaces=NAMESPACES,
        variants={"cu126": Variant(label="cu126", properties=catalog_variant("cu128").properties)},
    )
    with pytest.raises(VariantError, match="means"):
        merge_metadata([a, clash], source="s")


def test_variants_json_file_name_is_normalised() -> None:
    assert (
        variants_json_filename("Cuda-Kernels", "0.1.0.dev20261120")
        == "cuda_kernels-0.1.0.dev20261120-variants.json"
    )


def zip_members(path: Path) -> dict[str, bytes]:
    """Members of a wheel whose name has a variant label (``Wheel`` reads PEP 427 names)."""
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _check_record(members: dict[str, bytes], dist_info: str) -> None:
    rows = {r.path: r for r in parse_record(members[f"{dist_info}/RECORD"].decode())}
    assert set(rows) == set(members)
    for path, data in members.items():
        if path != f"{dist_info}/RECORD":
            assert rows[path].hash == record_hash(data)


def test_variant_fallback_and_legacy_wheels(tmp_path: Path) -> None:
    built = make_built_wheel(tmp_path / "cu128", variant="cu128")
    assert (
        built.name == "cuda_kernels-0.1.0.dev20261120+cu128-cp312-cp312-manylinux_2_35_x86_64.whl"
    )
    out = tmp_path / "out"
    variant = make_variant_wheel(built, out, label="cu128", metadata=release("cpu", "cu128"))
    assert variant.kind is WheelKind.VARIANT
    assert variant.path.name == (
        "cuda_kernels-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64-cu128.whl"
    )
    members = zip_members(variant.path)
    dist = "cuda_kernels-0.1.0.dev20261120.dist-info"
    assert f"{dist}/variant.json" in members
    assert not any("+cu128" in name for name in members)
    doc = json.loads(members[f"{dist}/variant.json"])
    validate(doc)
    assert list(doc["variants"]) == ["cu128"]
    assert b"\nVersion: 0.1.0.dev20261120\n" in members[f"{dist}/METADATA"]
    assert members[f"{dist}/METADATA"] == variant.metadata
    _check_record(members, dist)

    fallback = make_fallback_wheel(built, out)
    assert (
        fallback.path.name == "cuda_kernels-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64.whl"
    )
    with Wheel(fallback.path) as wheel:
        assert wheel.dist_info == dist
        assert not any(n.endswith("variant.json") for n in wheel.names)
        _check_record(wheel.members(), dist)

    legacy = make_legacy_wheel(built, out, variant="cu128")
    assert legacy.path.name == built.name
    with Wheel(legacy.path) as wheel:
        assert wheel.dist_info == "cuda_kernels-0.1.0.dev20261120+cu128.dist-info"
        assert b"Version: 0.1.0.dev20261120+cu128\n" in wheel.dist_info_file("METADATA").encode()
        assert wheel.modes()["cuda_kernels/_ext.cp312.so"] == 0o755


def test_a_build_without_local_version_converts_the_same(tmp_path: Path) -> None:
    built = make_built_wheel(tmp_path, variant="cu126", local=False)
    legacy = make_legacy_wheel(built, tmp_path / "out", variant="cu126")
    assert (
        legacy.path.name
        == "cuda_kernels-0.1.0.dev20261120+cu126-cp312-cp312-manylinux_2_35_x86_64.whl"
    )
    null = make_variant_wheel(built, tmp_path / "out", label="null", metadata=release("cpu"))
    assert null.path.name.endswith("manylinux_2_35_x86_64-null.whl")


def test_conversion_is_reproducible(tmp_path: Path) -> None:
    built = make_built_wheel(tmp_path, variant="cu128")
    a = make_variant_wheel(built, tmp_path / "a", label="cu128", metadata=release("cu128"))
    b = make_variant_wheel(built, tmp_path / "b", label="cu128", metadata=release("cu128"))
    assert a.path.read_bytes() == b.path.read_bytes()


def test_metadata_must_agree_across_variants() -> None:
    base = b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\nRequires-Dist: numpy\n\nbody\n"
    other = b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\nRequires-Dist: cupy\n\nbody\n"
    check_release_metadata({"a.whl": base, "b.whl": base})
    with pytest.raises(VariantError, match="requires-dist"):
        check_release_metadata({"a.whl": base, "b.whl": other})
    dynamic = b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\nDynamic: Requires-Dist\n"
    check_release_metadata(
        {"a.whl": dynamic + b"Requires-Dist: numpy\n\nbody\n", "b.whl": dynamic + b"\nbody\n"}
    )


def test_variantlib_cross_check() -> None:
    """variantlib reads documents with a 'providers' table, as wheelyard writes them: it parses
    our labels and properties identically and orders the variants as wheelyard does
    (docs/publish.md lists the differences); without the table it refuses them."""
    from variantlib.errors import ValidationError
    from variantlib.models.variant import VariantProperty as VLProperty
    from variantlib.resolver.filtering import filter_variants_by_property
    from variantlib.resolver.sorting import sort_variants_descriptions
    from variantlib.variants_json import VariantsJson

    from wheelyard.host.facts import NvidiaGpu, PlatformFacts
    from wheelyard.select.order import order_variants
    from wheelyard.select.provider import Provider

    ours = release("cpu", "cu126", "cu128", "cu130")
    data = json.loads(ours.render())
    theirs = VariantsJson(data)
    without = {k: v for k, v in data.items() if k != "providers"}
    with pytest.raises(ValidationError, match="providers"):
        VariantsJson(without)
    assert sorted(theirs.variants) == sorted(ours.variants)
    for label, desc in theirs.variants.items():
        assert {p.to_str() for p in desc.properties} == {
            str(p) for p in ours.variants[label].properties
        }
    supported = [
        VLProperty("nvidia", "cuda_version_lower_bound", v) for v in ("12.9", "12.8", "12.6")
    ] + [VLProperty("nvidia", "sm_arch", "90_real")]
    compatible = list(filter_variants_by_property(list(theirs.variants.values()), supported))
    their_order = [d.label for d in sort_variants_descriptions(compatible, supported)]
    facts = PlatformFacts(
        cuda_driver_version="12.9",
        nvidia_gpus=(NvidiaGpu(name="H100", compute_capability="9.0"),),
    )
    verdicts = order_variants(list(ours.variants.values()), ours.namespaces, Provider(facts))
    our_order = [v.label for v in verdicts if v.compatible]
    assert their_order == our_order == ["cu128", "cu126", "null"]

"""Search spaces: expansion is the product of the grid, and every bad config is named."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ablate.errors import ConfigError
from ablate.spaces import RunConfig, expand, load_space, parse_override, sweep_id

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, doc: object, name: str = "space.yaml") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return p


def test_expansion_is_the_product_times_seeds(tmp_path: Path) -> None:
    grid = {
        "model.stride": [1, 2, 3],
        "model.kernel_size": [3, 4],
        "model.head": ["gap", "flatten"],
    }
    space = load_space(write(tmp_path, {"experiment": "x", "grid": grid, "seeds": [7, 11]}))
    points = expand(space)
    got = {
        (p.config.model.stride, p.config.model.kernel_size, p.config.model.head, p.seed)
        for p in points
    }
    want = set(itertools.product([1, 2, 3], [3, 4], ["gap", "flatten"], [7, 11]))
    assert got == want
    assert len(points) == len(want)
    # seed-major order: every point gets the first seed before any gets the second
    assert [p.seed for p in points] == [7] * 12 + [11] * 12
    assert [p.index for p in points] == list(range(24))
    # keys sorted, values in file order
    first = points[:3]
    assert [p.values for p in first] == [
        {"model.head": "gap", "model.kernel_size": 3, "model.stride": 1},
        {"model.head": "gap", "model.kernel_size": 3, "model.stride": 2},
        {"model.head": "gap", "model.kernel_size": 3, "model.stride": 3},
    ]


def test_expansion_is_deterministic_and_keys_unique(tmp_path: Path) -> None:
    path = write(tmp_path, {"grid": {"model.stride": [1, 2], "train.lr": [0.1, 0.01]}, "seeds": 3})
    a, b = expand(load_space(path)), expand(load_space(path))
    assert [p.config for p in a] == [p.config for p in b]
    assert len({p.config.key() for p in a}) == len(a) == 12
    assert sweep_id(a) == sweep_id(b)


@settings(max_examples=30, deadline=None)
@given(
    strides=st.lists(st.integers(1, 4), min_size=1, max_size=4, unique=True),
    widths=st.lists(st.integers(1, 64), min_size=1, max_size=3, unique=True),
    seeds=st.integers(1, 3),
)
def test_expansion_matches_product_property(
    strides: list[int], widths: list[int], seeds: int
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        doc = {"grid": {"model.stride": strides, "model.width": widths}, "seeds": seeds}
        points = expand(load_space(write(Path(d), doc)))
    got = sorted((p.config.model.stride, p.config.model.width, p.seed) for p in points)
    assert got == sorted(itertools.product(strides, widths, range(seeds)))


def test_seed_count_and_list(tmp_path: Path) -> None:
    assert load_space(write(tmp_path, {"seeds": 3})).seeds == (0, 1, 2)
    assert load_space(write(tmp_path, {"seeds": [5, 1]})).seeds == (5, 1)
    assert load_space(write(tmp_path, {})).seeds == (0,)


def test_preset_expands_and_explicit_fields_win(tmp_path: Path) -> None:
    doc = {"base": {"model": {"preset": "seed003", "dropout": 0.2}}, "grid": {"model.stride": [1]}}
    cfg = expand(load_space(write(tmp_path, doc)))[0].config
    assert cfg.model.convs_per_block == (2, 2, 3) and cfg.model.hidden == 512
    assert cfg.model.dropout == 0.2 and cfg.model.preset == "seed003"


def test_overrides_pin_grid_keys_and_set_base(tmp_path: Path) -> None:
    path = write(tmp_path, {"grid": {"model.stride": [1, 2, 3]}})
    key, value = parse_override("train.lr=0.01")
    space = load_space(path, {key: value, "model.stride": 2, "experiment": "other"})
    points = expand(space)
    assert [p.config.model.stride for p in points] == [2]
    assert points[0].config.train.lr == 0.01
    assert points[0].config.experiment == "other"


def test_run_key_ignores_where_data_lives(tmp_path: Path) -> None:
    a = RunConfig().model_copy(
        update={"data": RunConfig().data.model_copy(update={"source": "/a.zip"})}
    )
    b = RunConfig().model_copy(
        update={"data": RunConfig().data.model_copy(update={"source": "/b"})}
    )
    assert a.key() == b.key()
    c = RunConfig(seed=1)
    assert c.key() != a.key()


def test_shipped_spaces_load(tmp_path: Path) -> None:
    sizes = {}
    for f in sorted((ROOT / "search_spaces").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        if doc.get("kind", "grid") != "grid":
            continue
        sizes[f.stem] = len(expand(load_space(f)))
    assert sizes["strides"] == 3
    assert sizes["full"] == 3 * 2 * 2 * 3 * 3
    assert sizes["smoke"] == 2
    assert sizes["strides_settled"] == 3 * 12  # at most: seed blocks until settled, max 12
    settled = load_space(ROOT / "search_spaces" / "strides_settled.yaml")
    assert settled.until is not None and (settled.until.min, settled.until.max) == (2, 12)
    assert settled.margins == {"test_acc": 1.0}


# --------------------------------------------------------------- bad configs


def error(tmp_path: Path, doc: object, overrides: dict[str, object] | None = None) -> str:
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError) as e:
        load_space(path, overrides)
    msg = str(e.value)
    assert str(path) in msg, msg  # every message names the file
    assert "\n" not in msg.strip()  # one paragraph
    return msg


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    msg = error(tmp_path, "grid:\n  model.stride: [1, 2\n")
    assert "not valid YAML" in msg and "line" in msg


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    assert "top level must be a mapping" in error(tmp_path, "- 1\n- 2\n")


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    msg = error(tmp_path, {"gird": {"model.stride": [1]}})
    assert "'gird'" in msg and "Did you mean 'grid'" in msg


def test_unknown_base_field_suggests(tmp_path: Path) -> None:
    msg = error(tmp_path, {"base": {"model": {"strid": 2}}})
    assert "base.model.strid" in msg and "Did you mean 'stride'" in msg and "kernel_size" in msg


def test_unknown_base_section(tmp_path: Path) -> None:
    msg = error(tmp_path, {"base": {"modle": {}}})
    assert "'base.modle'" in msg and "Did you mean 'model'" in msg


def test_unknown_grid_key_suggests(tmp_path: Path) -> None:
    msg = error(tmp_path, {"grid": {"model.kernel": [3, 4]}})
    assert "grid.model.kernel" in msg and "Did you mean 'kernel_size'" in msg


def test_grid_key_not_dotted(tmp_path: Path) -> None:
    assert "SECTION.FIELD" in error(tmp_path, {"grid": {"stride": [1, 2]}})


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    msg = error(tmp_path, {"base": {"train": {"lr": "fast"}}})
    assert "base.train.lr" in msg and "'fast'" in msg and "number" in msg


def test_bad_value_in_grid_names_index(tmp_path: Path) -> None:
    msg = error(tmp_path, {"grid": {"model.stride": [1, 9]}})
    assert "grid.model.stride[1]" in msg and "9" in msg and "less than or equal to 4" in msg


def test_bad_literal_lists_allowed(tmp_path: Path) -> None:
    msg = error(tmp_path, {"grid": {"model.head": ["gap", "dense"]}})
    assert "grid.model.head[1]" in msg and "'gap'" in msg and "'flatten'" in msg


def test_empty_grid_list(tmp_path: Path) -> None:
    assert "non-empty list" in error(tmp_path, {"grid": {"model.stride": []}})


def test_grid_value_not_a_list(tmp_path: Path) -> None:
    assert "non-empty list" in error(tmp_path, {"grid": {"model.stride": 2}})


@pytest.mark.parametrize("seeds", [0, -1, [], [1, 1], "three", True, [1.5]])
def test_bad_seeds(tmp_path: Path, seeds: object) -> None:
    assert "seeds" in error(tmp_path, {"seeds": seeds})


def test_unknown_preset_lists_known(tmp_path: Path) -> None:
    msg = error(tmp_path, {"base": {"model": {"preset": "seed00"}}})
    assert "seed000" in msg and "ablate models" in msg


def test_convs_per_block_must_match_depth(tmp_path: Path) -> None:
    msg = error(tmp_path, {"base": {"model": {"depth": 2, "convs_per_block": [1, 2, 3]}}})
    assert "convs_per_block" in msg and "depth" in msg


def test_bad_override(tmp_path: Path) -> None:
    msg = error(tmp_path, {}, {"train.lrr": 0.1})
    assert "train.lrr" in msg and "Did you mean 'lr'" in msg
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("train.lr")


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such search-space file"):
        load_space(tmp_path / "nope.yaml")

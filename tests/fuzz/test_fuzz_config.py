"""Fuzzing the data files an operator edits: the modalities presets and the editions file.

Each example mutates the real file in a private copy of ``config/`` (a key deleted, renamed,
added or given a value of the wrong type, a list item doubled; or at the text level a tab, a
byte that is not UTF-8, a cut, a YAML bomb, a 5,000-digit number, an impossible date, nesting
5,000 deep) and loads it. The outcome is the model or a ConfigError of one line that names the
file: never another exception, never a hang.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import event, example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from imrf.cli.main import app
from imrf.configfile import ConfigError, display_path, load_yaml
from imrf.editions import load_editions
from imrf.modalities import load_modalities

from .profile import fuzz
from .strategies import mutated_tree, nasty_text

CONFIG = Path(__file__).resolve().parents[2] / "config"
FILES = {
    "zero-draft-2019": Path("modalities/zero-draft-2019.yaml"),
    "a-res-73-326": Path("modalities/a-res-73-326.yaml"),
    "editions": Path("editions.yaml"),
}
BILLION_LAUGHS = "lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 9)}]\n" for n in range(1, 10))

yaml_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(), st.dates(), nasty_text,
    st.lists(st.integers(min_value=-5, max_value=30), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fuzz") / "config"
    shutil.copytree(CONFIG, target)
    return target


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """The loaders cache by (name, directory); every example must read its own files."""
    load_modalities.cache_clear()
    load_editions.cache_clear()
    yield
    load_modalities.cache_clear()
    load_editions.cache_clear()


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> bytes:
    how = draw(st.sampled_from(["tab", "bytes", "cut", "bomb", "bigint", "date", "deep",
                                "alias-cycle", "garbage"]))
    event(f"text: {how}")
    lines = text.splitlines(keepends=True)
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    if how == "tab":
        lines[at] = "\t" + lines[at]
    elif how == "cut":
        return text.encode()[: draw(st.integers(0, len(text.encode())))]
    elif how == "bytes":
        head = "".join(lines[:at]).encode()
        return head + draw(st.binary(min_size=1, max_size=8)) + "".join(lines[at:]).encode()
    elif how == "bomb":  # the aliases go into the first top-level key's value
        key = next(line.split(":")[0] for line in lines if line[:1].isalpha())
        lines = [BILLION_LAUGHS, *(line for line in lines if not line.startswith(f"{key}:")),
                 f"{key}: *lol9\n"]
    elif how == "bigint":
        lines.insert(at, "forum: {length_days: " + "9" * 5000 + "}\n")
    elif how == "date":
        lines.insert(at, "forum_start: 2026-02-30\n")
    elif how == "deep":
        lines.append("deep: " + "[" * 5000 + "]" * 5000 + "\n")
    elif how == "alias-cycle":
        lines.append("title: &me [*me]\n")
    else:
        return draw(st.binary(max_size=200))
    return "".join(lines).encode()


def mutated(name: str) -> st.SearchStrategy[bytes]:
    text = (CONFIG / FILES[name]).read_text(encoding="utf-8")
    original = yaml.safe_load(text)
    return st.one_of(
        mutated_tree(original, yaml_values).map(
            lambda data: yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()),
        text_mutation(text))


def load(name: str, config: Path) -> object:
    if name == "editions":
        return load_editions(config)
    return load_modalities(name, config)


def assert_loads_or_one_line(name: str, config: Path, data: bytes) -> None:
    path = config / FILES[name]
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        load(name, config)
        event("loaded")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{display_path(path)}: "), message
        assert "\n" not in message and "\r" not in message, message
        event("ConfigError")
    finally:
        path.write_bytes(original)


@fuzz(60)
@given(data=mutated("zero-draft-2019"))
def test_zero_draft_preset_mutations(config: Path, data: bytes) -> None:
    assert_loads_or_one_line("zero-draft-2019", config, data)


@fuzz(60)
@given(data=mutated("a-res-73-326"))
@example(data=b"extends: zero-draft-2019\nsessions:\n  - id: [a, list]\n")
@example(data=b"extends: zero-draft-2019\nmilestones:\n  - {id: {a: mapping}}\n")
@example(data=b"extends: no-such-preset\n")
def test_adopted_preset_mutations(config: Path, data: bytes) -> None:
    assert_loads_or_one_line("a-res-73-326", config, data)


@fuzz(60)
@given(data=mutated("editions"))
@example(data=b"default_modalities: zero-draft-2019\nforum_start: 2026-13-45\n")
@example(data=b"default_modalities: " + b"9" * 5000 + b"\n")
@example(data=b"editions: " + b"[" * 5000 + b"]" * 5000 + b"\n")
@example(data=BILLION_LAUGHS.encode() + b"editions: *lol9\n")
def test_editions_file_mutations(config: Path, data: bytes) -> None:
    assert_loads_or_one_line("editions", config, data)


@fuzz(10)
@given(name=st.sampled_from(sorted(FILES)), data=st.data())
def test_calendar_cli_on_mutated_files_exits_0_or_one_line_error(
    config: Path, name: str, data: st.DataObject
) -> None:
    """End to end: `imrf calendar` on a broken configuration says what is wrong, in one line."""
    path = config / FILES[name]
    original = path.read_bytes()
    path.write_bytes(data.draw(mutated(name)))
    env = {"IMRF_CONFIG_DIR": str(config)}
    try:
        for edition in ("2026", "2030"):
            load_modalities.cache_clear()
            load_editions.cache_clear()
            result = CliRunner().invoke(
                app, ["calendar", "--edition", edition, "--format", "ics"], env=env)
            assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
            assert not isinstance(result.exception, Exception) or isinstance(
                result.exception, SystemExit), repr(result.exception)
            if result.exit_code == 2:
                assert result.stderr.startswith("imrf: error: ") and result.stderr.count(
                    "\n") == 1, result.stderr
                event(f"exit 2 ({edition})")
            else:
                assert result.stdout.startswith("BEGIN:VCALENDAR")
    finally:
        path.write_bytes(original)


# --- the YAML reader itself (a test per bug found by the fuzzing above) --------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("a: " + "9" * 5000, r"line 1: invalid YAML: cannot read '9{40}': Exceeds the limit"),
    ("a: 2022-13-45", r"line 1: invalid YAML: cannot read '2022-13-45': month must be in 1\.\.12"),
    ("a: 2022-02-30T25:00:00", r"line 1: invalid YAML: cannot read .*day is out of range"),
    ("a: " + "[" * 5000 + "]" * 5000, r"invalid YAML: nested too deeply"),
    ("a: " + "{b: " * 3000 + "1" + "}" * 3000, r"invalid YAML: nested too deeply"),
    ("a: b\x00", r"x.yaml: invalid YAML: unacceptable character"),
])
def test_yaml_python_cannot_represent_is_a_config_error(tmp_path: Path, text: str,
                                                        expected: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as caught:
        load_yaml(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_a_billion_laughs_loads_by_reference_and_is_refused_by_the_schema(config: Path) -> None:
    path = config / FILES["editions"]
    original = path.read_bytes()
    path.write_text(BILLION_LAUGHS + "default_modalities: *lol9\n", encoding="utf-8")
    try:
        with pytest.raises(ConfigError, match="default_modalities: Input should be a valid string"):
            load_editions(config)
    finally:
        path.write_bytes(original)

"""The README fits a screen or two and the manual lives in docs/: links that resolve, real module paths
only (no flat alias such as `explorer.models`), and an API page that names every public name, endpoint and
endpoint parameter."""
import json
import re
from pathlib import Path

import explorer

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONTRACT = json.loads((ROOT / "tests" / "ui" / "api_contract.json").read_text())


def test_the_readme_is_at_most_200_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move the detail to docs/"


def test_every_relative_link_resolves():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


def test_no_page_names_a_module_by_a_flat_alias():
    """`explorer.models` and the like were aliases of `explorer.core.models` ...; they are gone."""
    modules = {p.stem for folder in ("core", "drawing", "ui") for p in (ROOT / "explorer" / folder).glob("*.py")}
    modules -= {"__init__"} | {p.stem for p in (ROOT / "explorer").glob("*.py")}    # explorer.trust, explorer.lesson: real
    for page in PAGES:
        for name in re.findall(r"\bexplorer\.([a-z_]+)", page.read_text()):
            assert name not in modules, f"{page.relative_to(ROOT)} names explorer.{name}: write its real path"


def test_the_api_page_names_every_public_name_endpoint_and_parameter():
    text = (ROOT / "docs" / "api.md").read_text()
    for name in explorer.__all__:
        assert f"`{name}" in text, f"docs/api.md does not name explorer.{name}"
    for endpoint, info in CONTRACT.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{endpoint}` |")), None)
        assert row, f"docs/api.md has no row for {endpoint}"
        for parameter in info["parameters"]:
            assert f"`{parameter['parameter_name']}`" in row, f"docs/api.md: {endpoint} misses {parameter['parameter_name']}"
    assert "/gradio_api/mcp/" in text and "EXPLORER_MCP=0" in text


def test_the_package_docstring_example_runs():
    import doctest

    import explorer

    result = doctest.testmod(explorer)
    assert result.attempted >= 2 and result.failed == 0

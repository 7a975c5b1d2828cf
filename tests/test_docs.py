"""The documentation site (docs/): its reference pages come from the code and cover it,
and the built site works in a browser, offline (issue 27)."""

import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlparse

import pytest
import yaml

from .conftest import REPO, SCHEMA
from .test_workflow import CHROMIUM_ARGS, chromium

DOCS = REPO / "docs"
SITE = DOCS / "_build" / "html"
SECTIONS = ("Tutorials", "How-to", "Reference", "Explanation")


def load_reference():
    spec = importlib.util.spec_from_file_location("reference", DOCS / "tools" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = load_reference()


def all_keys(schema, prefix=""):
    """Every dotted key of the schema, written out here again (not the generator's walk)."""
    definitions = schema.get("definitions", {})
    for name, sub in schema.get("properties", {}).items():
        sub = definitions[sub["$ref"].split("/")[-1]] if "$ref" in sub else sub
        yield f"{prefix}{name}", sub
        yield from all_keys({**sub, "definitions": definitions}, f"{prefix}{name}.")


def test_every_config_key_has_a_description_and_a_row_in_config_readme():
    """A key added to the schema without a description, or missing from config/README.md's
    table (which the docs' configuration page includes), fails here."""
    keys = dict(all_keys(yaml.safe_load(SCHEMA.read_text())))
    assert len(keys) > 80
    assert [key for key, sub in keys.items() if not sub.get("description")] == []
    table = (REPO / "config" / "README.md").read_text().split(reference.BEGIN, 1)[1].split(reference.END, 1)[0]
    rows = re.findall(r"^\| `([\w.]+)` \|", table, re.M)
    assert rows == list(keys)


def test_config_readme_table_is_generated_from_the_schema():
    result = subprocess.run(
        [sys.executable, str(DOCS / "tools" / "reference.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # and the check fails on a stale table
    stale = (REPO / "config" / "README.md").read_text().replace("| `searchlight.radius` |", "| `searchlight.radios` |")
    assert reference.config_readme(stale) != stale


def listed_rules(configfile, *config):
    """The rules Snakemake lists for a configuration (its command line, not the generator's API)."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--list-rules", "--configfile", configfile, *config],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.strip() for line in result.stdout.splitlines() if re.fullmatch(r"\s*\w+", line)} - {"all"}


def test_outputs_page_covers_every_rule(tmp_path):
    """The generated outputs table has every rule Snakemake lists, and the hand-written
    descriptions on docs/reference/outputs.md name each of them."""
    outputs = reference.rule_outputs()
    bids = f"dataset={{source: bids, bids: {{bids_dir: {tmp_path}}}}}"
    rules = (
        listed_rules("config/group.yaml")
        | listed_rules("config/bids.yaml", "--config", bids)
        | listed_rules("config/bids.yaml", "--config", bids, "samples={mode: volumes}")
    )
    assert set(outputs) == rules
    assert outputs["merge"][:2] == [
        "sub-{subject}/{contrast}/searchlight.nii.gz",
        "sub-{subject}/{contrast}/searchlight_folds.nii.gz",
    ]
    page = (DOCS / "reference" / "outputs.md").read_text()
    assert [rule for rule in sorted(rules) if f"`{rule}`" not in page] == []


ERROR_CALL = re.compile(r"raise\s+(?:InputError|ConfigError)\(|(?<![\w.])stop\(")


def test_errors_page_lists_every_error_the_code_raises():
    """Each raise InputError/ConfigError and stop() call, found by a plain text search of the
    code, is on the generated errors page with its literal text."""
    sites = reference.error_sites()
    paths = [
        *(REPO / "snakelight").rglob("*.py"),
        REPO / "workflow" / "Snakefile",
        *(REPO / "workflow" / "rules").glob("*.smk"),
    ]
    for path in paths:
        lines = path.read_text().splitlines()
        calls = [
            n
            for n, line in enumerate(lines, 1)
            if ERROR_CALL.search(line) and not line.lstrip().startswith(("def ", "#"))
        ]
        listed = [n for n, _ in sites.get(str(path.relative_to(REPO)), [])]
        assert listed == calls, path
    assert sum(len(errors) for errors in sites.values()) > 100
    page = reference.errors_page()
    assert "the brain mask is empty (no nonzero voxel)" in page
    assert "leave_one_run_out needs two runs or more; sub-{subject} has one" in page


# --- the built site ------------------------------------------------------------------


@pytest.fixture(scope="module")
def site():
    """docs/_build/html, built with `make docs` when absent (the gallery in its quick mode)."""
    if not (SITE / "index.html").exists():
        env = {**os.environ, "SNAKELIGHT_DOCS_QUICK": "1"}
        subprocess.run(["make", "docs"], cwd=REPO, env=env, check=True, capture_output=True, timeout=900)
    return SITE


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) and not (tag == "link" and attrs.get("rel") == "preconnect"):
                self.links.append(attrs[name])


def parse(path):
    parser = Links()
    parser.feed(path.read_text())
    return parser


def test_the_site_has_no_broken_internal_link(site):
    pages = [p for p in site.rglob("*.html") if "_sources" not in p.parts]
    assert len(pages) > 20
    parsed = {page: parse(page) for page in pages}
    broken = []
    for page, links in parsed.items():
        for link in links.links:
            url = urlparse(link)
            if url.scheme or link.startswith("//") or link.startswith("mailto:"):
                continue
            path, fragment = url.path, url.fragment
            target = (page.parent / unquote(path)).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {link}")
            elif fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert broken == []


def test_the_site_in_a_browser_navigates_to_each_section_offline(site):
    """Headless Chromium opens the site, follows the sidebar to each section's pages, and
    every page it opens shows its images; nothing is requested from the network."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        outside = []
        page.route("http*://**", lambda route: (outside.append(route.request.url), route.abort()))
        page.goto((site / "index.html").as_uri())
        visited = {}
        for section in SECTIONS:
            caption = page.locator(".sidebar-tree p.caption", has_text=section)
            assert caption.count() == 1, section
            links = caption.locator("xpath=following-sibling::ul[1]/li/a")
            hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
            assert hrefs, section
            for href in hrefs:
                page.goto((site / href).as_uri() if not href.startswith("file:") else href)
                page.wait_for_load_state("load")
                images = page.locator("article img")
                for i in range(images.count()):
                    image = images.nth(i)
                    image.scroll_into_view_if_needed()
                    loaded = image.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)")
                    assert loaded > 0, (href, image.get_attribute("src"))
                visited.setdefault(section, []).append((href, images.count()))
                page.goto((site / "index.html").as_uri())
        browser.close()
    assert set(visited) == set(SECTIONS)
    assert any(count for _, count in visited["Tutorials"])  # the report figure, the gallery's
    assert outside == []

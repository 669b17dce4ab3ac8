"""Figures the docs quote from ``benchmarks/results/*.json`` are the files' figures.

The docs tie each quoted figure to its file with a comment that readers of the rendered page do
not see, on the line after the paragraph, table or code block that quotes it::

    | model | NLL | ACC |
    |---|---|---|
    | RNN-RBM | **5.9061 ± 0.0021** | 29.0 % |
    <!-- figures from jsb_chorales_test.json: 5.9061 = nll; 0.0021 = nll_std; 29.0 % = accuracy * 100 -->

Each ``FIGURE = PATH`` says: the JSON value at ``PATH`` (keys and list indices joined by dots,
``* 100`` for a fraction quoted as a percentage), written with as many decimals as ``FIGURE``
(and thousands separated by commas if it has any), is ``FIGURE``'s number; and ``FIGURE``, as
written, is in the block just above the comment. A re-run that changes a figure, or an edit of
the page that changes one, fails here. Every results file a page names has at least one figure
tied to it on that page.
"""

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
MARKER = re.compile(r"^<!-- figures from (?P<file>[\w.-]+\.json):(?P<figures>.*?)-->", re.M | re.S)
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def tied_figures(page: Path) -> list[tuple[str, str, str, str]]:
    """``(block above the marker, results file, figure as quoted, path)`` of every figure a
    page ties to a results file."""
    text = page.read_text()
    found = []
    for marker in MARKER.finditer(text):
        above = text[:marker.start()].rstrip("\n")
        block = above[above.rfind("\n\n") + 2:] if "\n\n" in above else above
        block = MARKER.sub("", block)                       # the figures, not other markers
        for entry in marker["figures"].split(";"):
            figure, _, path = entry.partition("=")
            found.append((block, marker["file"], figure.strip(), path.strip()))
    return found


def value_at(data, path: str) -> float:
    """The number at ``path`` ("rows.0.frames/s", "accuracy * 100") of a results file's data."""
    path, _, factor = path.partition("*")
    for key in path.strip().split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return float(data) * (float(factor) if factor else 1)


def written_like(value: float, figure: str) -> str:
    """``value`` written as ``figure``'s number is: its decimals (halves rounded up, as
    people round 7.465 to 7.47), its thousands separators."""
    number = NUMBER.search(figure)[0]
    decimals = len(number.partition(".")[2])
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    written = f"{rounded:{',' if ',' in number else ''}f}"
    return ("+" + written) if number.startswith("+") and value >= 0 else written


FIGURES = [(page, *figure) for page in PAGES for figure in tied_figures(page)]


def test_the_docs_tie_figures_to_every_results_file_they_name():
    assert len(FIGURES) > 50
    for page in PAGES:
        text = page.read_text()
        named = {name for name in re.findall(r"([\w-]+\.json)", MARKER.sub("", text))
                 if (RESULTS / name).is_file()}
        tied = {file for _, file, _, _ in tied_figures(page)}
        assert named <= tied, f"{page.name} names {sorted(named - tied)} but ties no figure to it"


@pytest.mark.parametrize("page, block, file, figure, path", FIGURES,
                         ids=[f"{page.name}:{file}:{figure}" for page, _, file, figure, _ in FIGURES])
def test_a_quoted_figure_is_its_results_files_figure(page, block, file, figure, path):
    data = json.loads((RESULTS / file).read_text())
    number = NUMBER.search(figure)[0]
    assert written_like(value_at(data, path), figure) == number, (
        f"{page.name} quotes {figure!r} where {file} has {path} = {value_at(data, path)!r}")
    pattern = r"(?<![\d.,])" + re.escape(figure) + r"(?![\d])"
    assert re.search(pattern, block), f"{page.name}: {figure!r} is not in the block above its marker"

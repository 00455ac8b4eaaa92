"""Tables for papers and pages: LaTeX and HTML through pandas' `Styler`.

Both get a caption naming the metric and its unit, a left-aligned first column, the best
entry of each numeric column in bold and the second best underlined (by the value shown, so
entries that print alike are tied), and the table's notes beneath. LaTeX is booktabs
(`\\toprule`, `\\midrule`, `\\bottomrule`; `\\usepackage{booktabs}`), with `$\\pm$` and
`\\dag`/`\\ddag` marks, in a `table` float with a `\\label`; HTML is a plain table with
booktabs-like rules and no borders between cells.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import pandas as pd

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
LATEX_MARKS = {"±": r"$\pm$", "†": r"\textsuperscript{\dag}", "‡": r"\textsuperscript{\ddag}",
               "—": "---", "χ²": r"$\chi^2$", "Δ": r"$\Delta$", "≥": r"$\geq$", "→": r"$\rightarrow$",
               "×": r"$\times$", "α": r"$\alpha$", "−": r"$-$"}
HTML_STYLES = [
    {"selector": "", "props": "border-collapse: collapse; border-top: 2px solid #000; border-bottom: 2px solid #000; "
                              "font-variant-numeric: tabular-nums; margin: 0.5em 0;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; padding: 0.3em 0; font-size: 0.9em;"},
    {"selector": "thead th", "props": "border-bottom: 1px solid #000; padding: 3px 10px; text-align: right;"},
    {"selector": "td", "props": "padding: 3px 10px; text-align: right; white-space: nowrap;"},
]


def latex_text(text: str) -> str:
    """`text` with LaTeX's special characters escaped and nearbench's marks as LaTeX."""
    escaped = "".join(LATEX_SPECIAL.get(char, char) for char in str(text))
    for mark, latex in LATEX_MARKS.items():
        escaped = escaped.replace(mark, latex)
    return escaped


def ranked_styles(numbers: pd.DataFrame, higher_is_better: Sequence[bool], best: str, second: str) -> pd.DataFrame:
    """CSS per cell of `numbers` (one numeric column per shown column, NaN where nothing is
    shown): `best` for each column's best value, `second` for its second best."""
    import pandas as pd

    styles = pd.DataFrame("", index=numbers.index, columns=numbers.columns)
    for column, higher in zip(numbers.columns, higher_is_better):
        values = numbers[column].dropna()
        distinct = sorted(set(values), reverse=higher)
        if len(distinct) > 1:  # one value, or one row, leaves nothing to tell apart
            styles.loc[values.index[values == distinct[0]], column] = best
        if len(distinct) > 2:
            styles.loc[values.index[values == distinct[1]], column] = second
    return styles


def to_latex(shown: pd.DataFrame, numbers: pd.DataFrame, higher_is_better: Sequence[bool], *, caption: str,
             label: str, notes: Sequence[str] = (), align: str | None = None) -> str:
    """`shown` (text cells, first column the row names) as a booktabs table float; `numbers`
    has the values the bold and underline go by (same index, one column per column of
    `shown` after the first); `align` the tabular's column letters (default: `l`, then `r`)."""
    table = shown.map(latex_text)
    table.columns = [latex_text(c) for c in table.columns]
    styles = ranked_styles(numbers, higher_is_better, "textbf:--rwrap;", "underline:--rwrap;")
    styles.columns = table.columns[1:]
    styler = table.style.hide(axis="index").apply(
        lambda _: styles.reindex(columns=table.columns, fill_value="").to_numpy(), axis=None
    )
    body = styler.to_latex(
        hrules=True, column_format=align or "l" + "r" * (len(table.columns) - 1), position="htbp",
        position_float="centering", caption=latex_text(caption), label=label,
    )
    if notes:
        lines = r" \\ ".join(latex_text(note.strip()) for note in notes)
        body = body.replace(r"\end{table}", f"\\par\\smallskip{{\\footnotesize {lines}}}\n\\end{{table}}")
    return body


def to_html(shown: pd.DataFrame, numbers: pd.DataFrame, higher_is_better: Sequence[bool], *, caption: str,
            table_id: str, notes: Sequence[str] = (), left: int = 1) -> str:
    """`shown` as an HTML table (`id` table_id) with the caption, rules and best/second marks;
    its first `left` columns are left-aligned."""
    import html

    styles = ranked_styles(numbers, higher_is_better, "font-weight: bold;", "text-decoration: underline;")
    styles.columns = shown.columns[1:]
    aligned = [{"selector": f"td.col{i}, th.col_heading.level0.col{i}", "props": "text-align: left;"} for i in range(left)]
    styler = (
        shown.style.hide(axis="index").format(escape="html")
        .apply(lambda _: styles.reindex(columns=shown.columns, fill_value="").to_numpy(), axis=None)
        .set_table_styles(HTML_STYLES + aligned).set_caption(html.escape(caption))
    )
    body = styler.to_html(table_uuid=re.sub(r"[^A-Za-z0-9_-]", "-", table_id))
    items = "".join(f"<li>{html.escape(note.strip())}</li>" for note in notes)
    return body + (f'<ul class="notes">{items}</ul>\n' if items else "")

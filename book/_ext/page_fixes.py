"""Fixes for glitches of the Jupyter Book 1.x stack that show up on our pages.

1. Repeated inline scripts. Extensions that add an inline script with
   ``app.add_js_file(None, body=...)`` during the build (sphinx-thebe,
   sphinx-togglebutton) get it twice on every page under Sphinx 7.4: it is registered
   once under the name ``None`` and once under ``''``, which do not compare equal. The
   second copy of sphinx-thebe's ``const THEBE_JS_URL`` is a JavaScript SyntaxError on
   every page. We keep the first copy of each script.
2. Widgets and MathJax 3. The ipywidgets embed manager typesets widget labels with the
   MathJax 2 API (``MathJax.Hub.Queue``), which throws under the MathJax 3 that Sphinx
   loads. ``static/mathjax2-hub-shim.js`` forwards those calls to MathJax 3.

3. API boilerplate. autodoc lists a NamedTuple's fields as "Alias for field number N"
   and every module's torch ``extra_repr``: skipped.

It also adds ``static/verdicts.css``: the colours of the verdict and finding admonitions
that open the chapters.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple]] = set()
    unique = []
    for script in scripts:
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _add_static(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def _skip_boilerplate(app, what, name, obj, skip, options):
    """Members the API page would repeat for every class: a NamedTuple's fields
    ("Alias for field number N") and torch's ``extra_repr``."""
    doc = getattr(obj, "__doc__", None) or ""
    if doc.startswith("Alias for field number") or name == "extra_repr":
        return True
    return None


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")  # its event, whatever the load order
    app.connect("autodoc-skip-member", _skip_boilerplate)
    app.connect("builder-inited", _add_static)
    app.connect("html-page-context", _unique_scripts)
    # after MathJax's own deferred script (priority 500), before any widget renders
    app.add_js_file("mathjax2-hub-shim.js", defer="defer", priority=501)
    app.add_css_file("verdicts.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}

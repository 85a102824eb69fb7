"""Make a PDF of the written answers in a saved notebook: no LaTeX, pandoc or browser needed.

Run the notebook's last cell (it calls :func:`write_pdf`), or from a terminal::

    python written_answers.py homework.ipynb [homework_written.pdf]

What the PDF holds: for every written (manually graded) question, i.e. the cells between otter's
``<!-- BEGIN QUESTION -->`` and ``<!-- END QUESTION -->`` markers, each question starting on a
new page:

- the prompt and your answer, from the notebook **as last saved** (File > Save first);
- markdown, rendered simply: headings, paragraphs, bullet and numbered lists, block quotes,
  **bold**, *italic*, ``code``, fenced code blocks and tables in a monospace font, links as
  ``text (address)``, images pasted into the cell (attachments) or next to the notebook (PNG,
  JPEG); LaTeX math (``$...$``, ``$$...$$``) is shown as its source text, not typeset;
- code cells inside a question, in a monospace font, with their outputs: text, errors and
  images (your matplotlib plots, PNG or JPEG).

Everything outside the written questions (autograded code, experiments) is left out: that part is
graded from the notebook itself. Text uses matplotlib's DejaVu fonts (with STIX for the math
symbols DejaVu lacks), so accented letters, Greek and most math symbols print; scripts neither
covers (Chinese, Japanese, Korean) show as blanks, and :func:`write_pdf` says so.

Only the standard library is needed to import this module; rendering needs nbformat, matplotlib's
fonts and fpdf2 (pure Python, with Pillow and fontTools). :func:`write_pdf` never raises: when
anything fails it makes no file and prints what to do instead.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

PDF_SUFFIX = "_written.pdf"  # <notebook stem>_written.pdf, the name staff look for in a zip
PLACEHOLDER = "_Type your answer here, replacing this text._"  # otter's empty written answer
FALLBACK = ("Your submission zip is still complete: it holds your notebook, and your autograded "
            "answers are graded from it. Hand in your written answers another way: in Jupyter, "
            "File > Print Preview (or File > Save and Export Notebook As > HTML, then your "
            "browser's Print > Save as PDF), and upload that PDF to the Gradescope assignment "
            "for the written answers.")

_MARKER = re.compile(r"<!--\s*(BEGIN|END)\s+QUESTION\s*-->", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)"
                    r"|<img\s[^>]*?src\s*=\s*[\"']([^\"']+)[\"'][^>]*>", re.IGNORECASE)
_INLINE = re.compile(r"(\$\$.+?\$\$|\$[^$\n]+?\$|`[^`\n]+`|\*\*[^*\n].*?\*\*|__[^_\n].*?__"
                     r"|(?<![\w*])\*[^*\s](?:[^*\n]*?[^*\s])?\*(?![\w*])|(?<![\w_])_[^_\s](?:[^_\n]*?[^_\s])?_(?![\w_]))")
_LINK = re.compile(r"\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?\s*\)")
_TAG = re.compile(r"</?(?:b|i|u|em|strong|p|div|span|sub|sup|font|center|a|small|big|details|summary)\b[^>]*>",
                  re.IGNORECASE)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")

MAX_BLOCK_CHARS = 20_000  # a longer text (a runaway print loop) is cut, saying how much was left out
MAX_OUTPUT_LINES = 200


# --------------------------------------------------------------------------- the notebook's part


@dataclass
class Block:
    """One piece of a written question: a cell, or the part of a markdown cell inside the markers."""

    kind: str  # "markdown", "code" or "raw"
    source: str
    answer: bool  # written by the student (an unlocked cell), not the prompt
    outputs: list = field(default_factory=list)
    attachments: dict = field(default_factory=dict)


@dataclass
class Question:
    blocks: list[Block] = field(default_factory=list)

    @property
    def answers(self) -> list[Block]:
        return [b for b in self.blocks if b.answer]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def written_questions(notebook: dict) -> list[Question]:
    """The written questions of a notebook, in order: the cells (or parts of markdown cells)
    between ``<!-- BEGIN QUESTION -->`` and ``<!-- END QUESTION -->``. A question left open runs
    to the next BEGIN marker or the end of the notebook."""
    questions: list[Question] = []
    current: Question | None = None
    for cell in notebook.get("cells", []):
        metadata = cell.get("metadata") or {}
        answer = metadata.get("editable", True) is not False
        kind = cell.get("cell_type", "raw")
        source = _text(cell.get("source"))
        if kind != "markdown":
            if current is not None:
                current.blocks.append(Block(kind, source, answer, list(cell.get("outputs") or [])))
            continue
        attachments = cell.get("attachments") or {}
        parts = _MARKER.split(source)
        pieces = [(None, parts[0])] + [(parts[i].upper(), parts[i + 1]) for i in range(1, len(parts), 2)]
        for marker, text in pieces:
            if marker is not None:
                if current is not None:
                    questions.append(current)
                current = Question() if marker == "BEGIN" else None
            if current is not None and text.strip():
                current.blocks.append(Block("markdown", text, answer and marker is None, attachments=attachments))
    if current is not None:
        questions.append(current)
    return questions


def _is_placeholder(question: Question) -> bool:
    """Whether the student left otter's placeholder as the whole answer."""
    answers = [b for b in question.answers if b.source.strip()]
    return bool(answers) and all(b.source.strip() == PLACEHOLDER for b in answers)


# --------------------------------------------------------------------------- the PDF


def _fonts_folder() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _clean(text: str) -> str:
    text = _ANSI.sub("", text).replace("\t", "    ").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def _cut(text: str) -> str:
    """At most MAX_BLOCK_CHARS characters and MAX_OUTPUT_LINES lines, saying what was left out."""
    lines = text.split("\n")
    cut = "\n".join(lines[:MAX_OUTPUT_LINES])
    cut = cut[:MAX_BLOCK_CHARS]
    if len(cut) < len(text):
        cut += f"\n[... {len(text) - len(cut)} more characters not shown]"
    return cut


class _Writer:
    """The PDF being written, with the few layout steps markdown and outputs need."""

    BODY, CODE, LINE, CODE_LINE = 10.5, 8.5, 5.2, 4.1

    def __init__(self, title: str):
        from fpdf import FPDF

        folder = _fonts_folder()
        footer = f"{title}: written answers"

        class _PDF(FPDF):
            def footer(self):
                self.set_y(-12)
                self.set_font("body", "", 8)
                self.set_text_color(120)
                self.cell(0, 5, f"{footer}   page {self.page_no()}/{{nb}}", align="C")
                self.set_text_color(0)

        pdf = _PDF(format="A4")
        pdf.set_margins(18, 16, 18)
        pdf.set_auto_page_break(True, margin=18)
        for style, name in (("", "DejaVuSans"), ("B", "DejaVuSans-Bold"), ("I", "DejaVuSans-Oblique"),
                            ("BI", "DejaVuSans-BoldOblique")):
            pdf.add_font("body", style, str(folder / f"{name}.ttf"))
        pdf.add_font("mono", "", str(folder / "DejaVuSansMono.ttf"))
        pdf.add_font("mono", "B", str(folder / "DejaVuSansMono-Bold.ttf"))
        pdf.add_font("symbols", "", str(folder / "STIXGeneral.ttf"))
        pdf.set_fallback_fonts(["symbols"], exact_match=False)
        pdf.set_title(footer)
        pdf.set_creator("written_answers.py (fpdf2)")
        self.pdf = pdf

    # ---- text

    def runs(self, runs: list[tuple[str, str]], size: float | None = None, line: float | None = None) -> None:
        """Flowing text: (text, style) runs, style one of "", "B", "I", "BI", "mono"."""
        size, line = size or self.BODY, line or self.LINE
        for text, style in runs:
            if style == "mono":
                self.pdf.set_font("mono", "", size - 1)
            else:
                self.pdf.set_font("body", style, size)
            self.pdf.write(line, text)
        self.pdf.ln(line)

    def gap(self, height: float = 2.0) -> None:
        self.pdf.ln(height)

    def heading(self, text: str, level: int) -> None:
        size = {1: 15, 2: 13.5, 3: 12}.get(level, 11)
        self.gap(1.5)
        self.runs([(text, "B")] if text else [], size=size, line=size * 0.5)
        self.gap(1)

    def note(self, text: str) -> None:
        """A small grey line of the renderer's own (question number, 'Answer', what was left out)."""
        self.pdf.set_text_color(110)
        self.runs([(text, "I")], size=8.5, line=4.2)
        self.pdf.set_text_color(0)

    def code(self, text: str, shade: bool = True) -> None:
        pdf = self.pdf
        pdf.set_font("mono", "", self.CODE)
        pdf.set_fill_color(243, 243, 243)
        pdf.multi_cell(0, self.CODE_LINE, _cut(_clean(text)).rstrip("\n") or " ", fill=shade,
                       new_x="LMARGIN", new_y="NEXT")
        self.gap(1.5)

    def rule(self) -> None:
        pdf = self.pdf
        pdf.set_draw_color(170)
        pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
        pdf.ln(3)

    def indented(self, indent: float):
        writer = self

        class _Indent:
            def __enter__(self):
                writer.pdf.set_left_margin(writer.pdf.l_margin + indent)
                writer.pdf.set_x(writer.pdf.l_margin)

            def __exit__(self, *exc):
                writer.pdf.set_left_margin(writer.pdf.l_margin - indent)
                writer.pdf.set_x(writer.pdf.l_margin)

        return _Indent()

    # ---- images

    def image(self, data: bytes, label: str) -> None:
        """A PNG or JPEG, at most the text width and one page high; a note where it cannot be read."""
        pdf = self.pdf
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as probe:
                width_px, height_px = probe.size
            if not width_px or not height_px:
                raise ValueError("empty image")
            width = min(width_px * 25.4 / 96, pdf.w - pdf.l_margin - pdf.r_margin)
            height = width * height_px / width_px
            room = pdf.h - pdf.t_margin - pdf.b_margin
            if height > room:
                width, height = width * room / height, room
            if pdf.get_y() + height > pdf.h - pdf.b_margin:
                pdf.add_page()
            top = pdf.get_y()
            pdf.image(io.BytesIO(data), x=pdf.l_margin, y=top, w=width, h=height)
            pdf.set_xy(pdf.l_margin, top + height + 2)
        except Exception as error:  # noqa: BLE001 - one unreadable image must not cost the whole PDF
            self.note(f"[image {label!r} could not be included: {type(error).__name__}]")

    def output(self, path: Path) -> None:
        self.pdf.output(str(path))

    @property
    def missing_glyphs(self) -> list[str]:
        missing = set()
        for font in self.pdf.fonts.values():
            missing.update(chr(c) for c in getattr(font, "missing_glyphs", []) or [] if isinstance(c, int))
        return sorted(missing)


def _inline(text: str) -> list[tuple[str, str]]:
    """Markdown inline markup as (text, style) runs; math and code are kept as written."""
    text = _BREAK.sub("\n", text)
    runs: list[tuple[str, str]] = []

    def plain(piece: str, style: str = "") -> None:
        piece = _TAG.sub("", piece)
        piece = _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", piece)
        piece = _ESCAPE.sub(r"\1", piece)
        if piece:
            runs.append((piece, style))

    position = 0
    for match in _INLINE.finditer(text):
        plain(text[position:match.start()])
        token = match.group(0)
        if token.startswith("$"):
            runs.append((token, ""))
        elif token.startswith("`"):
            runs.append((token[1:-1], "mono"))
        elif token.startswith(("**", "__")):
            plain(token[2:-2], "B")
        else:
            plain(token[1:-1], "I")
        position = match.end()
    plain(text[position:])
    return runs


def _image_bytes(source: str, attachments: dict, folder: Path) -> bytes | None:
    """An image a markdown cell shows: a cell attachment or a file next to the notebook."""
    if source.startswith("attachment:"):
        bundle = attachments.get(source[len("attachment:"):]) or {}
        for mime in ("image/png", "image/jpeg"):
            if mime in bundle:
                return base64.b64decode("".join(_text(bundle[mime]).split()))
        return None
    if source.startswith("data:image/") and ";base64," in source:
        return base64.b64decode(source.split(";base64,", 1)[1])
    if re.match(r"^[a-z][a-z0-9+.-]*://", source, re.IGNORECASE):
        return None
    path = folder / source
    if path.suffix.lower() in (".png", ".jpg", ".jpeg") and path.is_file():
        return path.read_bytes()
    return None


def _markdown(writer: _Writer, text: str, attachments: dict, folder: Path) -> None:
    """Render one markdown text block by block (see the module's docstring for what is supported)."""
    lines = _clean(_COMMENT.sub("", text)).split("\n")
    paragraph: list[str] = []
    images: list[tuple[str, str]] = []

    def flush() -> None:
        if paragraph:
            joined = ""
            for line in paragraph:
                hard = line.endswith("  ") or line.endswith("\\")
                joined += line.rstrip().rstrip("\\") + ("\n" if hard else " ")
            runs = _inline(joined.strip())
            if runs:
                writer.runs(runs)
                writer.gap(1.2)
            paragraph.clear()
        for label, source in images:
            _show_image(writer, label, source, attachments, folder)
        images.clear()

    def take_images(line: str) -> str:
        for match in _IMAGE.finditer(line):
            images.append((match.group(1) or "", match.group(2) or match.group(3) or ""))
        return _IMAGE.sub("", line)

    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            flush()
            body, index = [], index + 1
            while index < len(lines) and not lines[index].strip().startswith(fence.group(1)):
                body.append(lines[index])
                index += 1
            writer.code("\n".join(body))
            index += 1
            continue
        stripped = line.strip()
        if stripped.startswith("$$") and (stripped == "$$" or not stripped[2:].rstrip().endswith("$$")):
            flush()  # display math over several lines: kept as its source, line by line
            body, index = [line], index + 1
            while index < len(lines) and "$$" not in lines[index]:
                body.append(lines[index])
                index += 1
            if index < len(lines):
                body.append(lines[index])
            with writer.indented(6):
                writer.runs([("\n".join(b.strip() for b in body), "")])
            writer.gap(1.2)
            index += 1
            continue
        heading, item, quote = _HEADING.match(line), _ITEM.match(line), _QUOTE.match(line)
        if not stripped:
            flush()
        elif heading:
            flush()
            writer.heading(_ESCAPE.sub(r"\1", _TAG.sub("", take_images(heading.group(2)))), len(heading.group(1)))
        elif _RULE.match(line):
            flush()
            writer.rule()
        elif stripped.startswith("|"):
            flush()
            rows = []
            while index < len(lines) and lines[index].strip().startswith("|"):
                if not _TABLE_RULE.match(lines[index]):
                    rows.append(lines[index].strip())
                index += 1
            writer.code("\n".join(rows), shade=False)
            continue
        elif item:
            flush()
            depth = len(item.group(1).expandtabs(4)) // 2
            marker = item.group(2) if item.group(2)[0].isdigit() else "•"
            body, index = [item.group(3)], index + 1
            while (index < len(lines) and lines[index].strip() and lines[index][:1].isspace()
                   and not _ITEM.match(lines[index]) and not _FENCE.match(lines[index])):
                body.append(lines[index].strip())
                index += 1
            text_runs = _inline(take_images(" ".join(body)))
            with writer.indented(6 + 5 * min(depth, 6)):
                writer.pdf.set_x(writer.pdf.l_margin - 5)
                writer.pdf.set_font("body", "", writer.BODY)
                writer.pdf.cell(5, writer.LINE, marker)
                writer.runs(text_runs or [(" ", "")])
            flush()
            continue
        elif quote:
            flush()
            body = []
            while index < len(lines) and _QUOTE.match(lines[index]):
                body.append(_QUOTE.match(lines[index]).group(1))
                index += 1
            with writer.indented(8):
                _markdown(writer, "\n".join(body), attachments, folder)
            continue
        else:
            paragraph.append(take_images(line))
        index += 1
    flush()


def _show_image(writer: _Writer, label: str, source: str, attachments: dict, folder: Path) -> None:
    try:
        data = _image_bytes(source, attachments, folder)
    except (OSError, ValueError, binascii.Error):
        data = None
    if data is None:
        writer.note(f"[image not included: {label or source}]")
    else:
        writer.image(data, label or source)


def _outputs(writer: _Writer, outputs: list, folder: Path) -> None:
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            writer.code(_text(output.get("text")), shade=False)
        elif kind == "error":
            trace = "\n".join(_text(t) for t in output.get("traceback") or [])
            writer.code(trace or f"{output.get('ename')}: {output.get('evalue')}", shade=False)
        elif kind in ("display_data", "execute_result"):
            data = output.get("data") or {}
            image = next((m for m in ("image/png", "image/jpeg") if m in data), None)
            if image is not None:
                try:
                    raw = base64.b64decode("".join(_text(data[image]).split()))
                except (binascii.Error, ValueError):
                    raw = b""
                writer.image(raw, image)
            elif "text/markdown" in data:
                _markdown(writer, _text(data["text/markdown"]), {}, folder)
            elif "text/plain" in data or "text/latex" in data:
                writer.code(_text(data.get("text/plain") or data.get("text/latex")), shade=False)


@dataclass
class Rendered:
    """What :func:`render` wrote."""

    path: Path
    questions: int
    pages: int
    unanswered: int  # written questions whose answer is still otter's placeholder
    missing_glyphs: list[str]


def render(notebook_path: str | os.PathLike, pdf_path: str | os.PathLike) -> Rendered | None:
    """Write the PDF of the written answers of the saved notebook ``notebook_path`` to
    ``pdf_path`` (written whole or not at all); None, writing nothing, when the notebook has no
    written question. Raises on any failure (:func:`write_pdf` does not)."""
    import nbformat

    notebook_path = Path(notebook_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        notebook = nbformat.read(str(notebook_path), as_version=4)
    questions = written_questions(notebook)
    if not questions:
        return None
    folder = notebook_path.resolve().parent
    writer = _Writer(notebook_path.stem)
    saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(notebook_path.stat().st_mtime))
    for number, question in enumerate(questions, start=1):
        writer.pdf.add_page()
        if number == 1:
            writer.heading(f"{notebook_path.stem}: written answers", 1)
            writer.note(f"From {notebook_path.name}, saved {saved}. {len(questions)} written questions, "
                        "each on a new page. Math is shown as its LaTeX source.")
            writer.rule()
        writer.note(f"Written question {number} of {len(questions)}")
        answered = False
        for block in question.blocks:
            if block.answer and not answered:
                answered = True
                writer.rule()
                writer.note("Answer")
            if block.kind == "markdown":
                _markdown(writer, block.source, block.attachments, folder)
            elif block.kind == "code":
                writer.code(block.source)
                _outputs(writer, block.outputs, folder)
            else:
                writer.code(block.source, shade=False)
        if not answered:
            writer.rule()
            writer.note("(no answer in the saved notebook)")
    pdf_path = Path(pdf_path)
    handle, partial = tempfile.mkstemp(prefix=".written-", suffix=".pdf", dir=pdf_path.resolve().parent)
    os.close(handle)
    try:
        import logging

        fpdf_log = logging.getLogger("fpdf")
        level, fpdf_log.level = fpdf_log.level, logging.ERROR  # missing glyphs are reported below
        try:
            writer.output(Path(partial))
        finally:
            fpdf_log.setLevel(level)
        os.replace(partial, pdf_path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return Rendered(pdf_path, len(questions), writer.pdf.pages_count,
                    sum(_is_placeholder(q) for q in questions), writer.missing_glyphs)


def _say(message: str) -> None:
    try:
        print(message, flush=True)
    except Exception:  # noqa: BLE001 - a closed stdout must not make write_pdf raise
        pass


def write_pdf(notebook: str | os.PathLike, pdf: str | os.PathLike | None = None) -> str | None:
    """Render the written answers of the saved ``notebook`` to ``pdf`` (default: next to it,
    ``<notebook stem>_written.pdf``) and return the PDF's path as given, for
    ``grader.export(files=[...])``. Never raises: on any failure it returns None, leaves no PDF of
    that name behind (an older one would not match the saved notebook) and prints why and what to
    do instead; a notebook without written questions gets None and a one-line note."""
    try:
        notebook = Path(notebook)
        target = Path(pdf) if pdf is not None else notebook.with_name(notebook.stem + PDF_SUFFIX)
    except Exception as error:  # noqa: BLE001
        _say(f"Could not make the PDF of your written answers ({type(error).__name__}: {error}). {FALLBACK}")
        return None
    try:
        if not notebook.is_file():
            raise FileNotFoundError(f"no file {notebook} here: save the notebook under that name")
        rendered = render(notebook, target)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - students must always get their zip
        try:
            if target.is_file():
                target.unlink()  # an older PDF of that name would not match the saved notebook
        except Exception:  # noqa: BLE001
            pass
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(error, ImportError):
            reason += "; python -m pip install -r requirements.txt installs what it needs"
        _say(f"Could not make the PDF of your written answers ({reason}). {FALLBACK}")
        return None
    if rendered is None:
        _say(f"{notebook.name} has no written questions: no PDF of written answers to make.")
        return None
    message = (f"Wrote {target} ({rendered.pages} pages): the written answers of the saved "
               f"{notebook.name}, {rendered.questions} questions.")
    if rendered.unanswered:
        verb = "holds" if rendered.unanswered == 1 else "hold"
        message += (f" {rendered.unanswered} of them still {verb} the placeholder text: if you have answered "
                    "them, save the notebook (File > Save) and run this cell again.")
    if rendered.missing_glyphs:
        shown = "".join(rendered.missing_glyphs[:20])
        message += (f" These characters have no glyph in the PDF's fonts and show as blanks: {shown}; "
                    "check the PDF, or write them another way.")
    _say(message)
    return str(target)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        _say("usage: python written_answers.py NOTEBOOK.ipynb [OUTPUT.pdf]")
        return 2
    return 0 if write_pdf(*args) else 1


if __name__ == "__main__":
    sys.exit(main())

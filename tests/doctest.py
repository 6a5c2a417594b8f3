#!/usr/bin/env python3
"""Run the commands the documentation shows, and check what they print.

    tests/doctest.py --hvlog BIN --hvcore BIN --source DIR [--build DIR] [FILE...]

With no FILE: README.md, docs/*.md, examples/README.md and man/*.[0-9] of
the source tree.  A failing example is reported as FILE:LINE with a diff;
the exit status is 1 if any failed.

What a document marks as runnable
---------------------------------
Markdown, fenced blocks:

  ```console   `$ command` lines (a `> ` line continues the command above),
               each followed by its expected output, standard output and
               standard error together:
                 a line                 equal to the line printed
                 a line ending " (re)"  a Python regex the whole line matches
                 a line "..."           any number of lines, none included
                 a last line "[N]"      the exit status is N (default 0)
               A command followed by no lines must print nothing.
  ```sh        every command must exit 0; what it prints is not compared.
  Any other fence (c, cmake, none) is code to read, not commands.

man pages (groff): each .EX/.EE block of the EXAMPLES section, as ```sh, or
as ```console when its first line starts with "$ ".

A block that cannot run in a test says so on the line before it, and is
reported as skipped:
  <!-- doctest: skip REASON -->     (groff: .\\" doctest: skip REASON)
  <!-- doctest: needs kvm -->       run only where /dev/kvm can be opened
  .\\" doctest: code                 (groff) a block of code, not commands

Where the commands run
----------------------
Each document runs in one shell (cd, variables and files carry over from
block to block) in a fresh directory that looks like the repository root
after `sh scripts/setup.sh`: ./build/hvlog, ./build/hvcore/hvcore and
build/demo.hvlog (recorded as setup.sh records it), hvlog and hvcore on
PATH, the source tree's top-level entries as symbolic links, and
trace.hvlog and trace.hvlog.gz, copies of the demo trace.  HOME and TMPDIR
are directories of their own in it; standard input is /dev/null.

With --build (CTest gives it), ./build is that build tree itself, so that
`cmake --install build` works, and `cc` on PATH is the build's compiler
with its flags (a sanitizer build's programs link only that way).
"""
import argparse
import difflib
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^\s*(?:<!--|\.\\\")\s*doctest:\s*(skip|needs|code)\b\s*(.*?)\s*(?:-->)?\s*$")
STATUS = re.compile(r"^\[(\d+)\]$")
SHOWN_LINES = 40          # of a failing command's output
READ_LIMIT = 1 << 20      # bytes of a command's output kept for comparing
TIMEOUT = 900             # seconds for one document


class Example:
    """One command: where it is, what kind, what it should print."""

    def __init__(self, doc, line, kind, text, expected=None, status=0):
        self.doc, self.line, self.kind, self.text = doc, line, kind, text
        self.expected, self.status = expected or [], status


class Skip:
    def __init__(self, doc, line, reason):
        self.doc, self.line, self.reason = doc, line, reason


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


def marker_of(line, doc, lineno):
    """The skip reason a marker line asks for, "" to run, None: no marker."""
    m = MARKER.match(line)
    if not m:
        return None
    what, arg = m.groups()
    if what == "code":
        return what
    if what == "skip":
        if not arg:
            sys.exit(f"{doc}:{lineno}: a skip needs a reason")
        return arg
    if arg != "kvm":
        sys.exit(f"{doc}:{lineno}: unknown requirement '{arg}' (doctest: needs kvm)")
    return "" if kvm_usable() else "/dev/kvm cannot be opened here"


def sh_commands(doc, lines, first):
    """Split a shell block into complete commands (sh -n decides), as
    (line, text) pairs, comments and blank lines left out."""
    out, acc, start = [], [], None
    for i, line in enumerate(lines):
        if start is None:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = first + i
        acc.append(line)
        text = "\n".join(acc)
        # sh -n takes a trailing backslash at the end of the text
        if not line.endswith("\\") and subprocess.run(["sh", "-n", "-c", text], stderr=subprocess.DEVNULL).returncode == 0:
            out.append((start, text))
            acc, start = [], None
    if acc:
        sys.exit(f"{doc}:{start}: an incomplete shell command")
    return out


def console_commands(doc, lines, first):
    """`$ ` commands with their expected output and status."""
    out = []
    for i, line in enumerate(lines):
        if line.startswith("$ "):
            out.append([first + i, line[2:], []])
        elif line.startswith("> ") and out and not out[-1][2]:
            out[-1][1] += "\n" + line[2:]
        elif out:
            out[-1][2].append(line)
        elif line.strip():
            sys.exit(f"{doc}:{first + i}: console output before any `$ ` command")
    result = []
    for lineno, text, exp in out:
        status = 0
        if exp and STATUS.match(exp[-1]):
            status = int(exp.pop()[1:-1])
        result.append((lineno, text, exp, status))
    return result


def block_examples(doc, kind, lines, first, skip):
    """The examples of one block, or a Skip."""
    if skip == "code":
        return []
    if skip:
        return [Skip(doc, first - 1, skip)]
    if kind == "console":
        return [Example(doc, n, kind, t, e, s) for n, t, e, s in console_commands(doc, lines, first)]
    return [Example(doc, n, kind, t) for n, t in sh_commands(doc, lines, first)]


def markdown_examples(doc, text):
    lines = text.split("\n")
    items, i = [], 0
    while i < len(lines):
        m = re.match(r"^(`{3,})\s*(\S*)", lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(1), m.group(2), i
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            i += 1
        if lang not in ("console", "sh"):
            i += 1
            continue
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        skip = marker_of(lines[prev], doc, prev + 1) if prev >= 0 else None
        items += block_examples(doc, lang, lines[start + 1:i], start + 2, skip)
        i += 1
    return items


GROFF = {"-": "-", "e": "\\", "\\": "\\", "&": "", "|": "", "(aq": "'", "(dq": '"',
         "(ti": "~", "(rs": "\\", "(ha": "^", "(lq": '"', "(rq": '"', "(em": "--"}


def groff_text(line, doc, lineno):
    def one(m):
        key = m.group(1)
        if key not in GROFF:
            sys.exit(f"{doc}:{lineno}: groff escape \\{key} in an example: add it to GROFF")
        return GROFF[key]
    return re.sub(r"\\(\(..|.)", one, line)


def man_examples(doc, text):
    lines = text.split("\n")
    items, section, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".SH"):
            section = line[3:].strip().strip('"')
        if section != "EXAMPLES" or line.strip() != ".EX":
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i].strip() != ".EE":
            i += 1
        body = [groff_text(l, doc, start + 2 + k) for k, l in enumerate(lines[start + 1:i])]
        skip = marker_of(lines[start - 1], doc, start) if start else None
        kind = "console" if body and body[0].startswith("$ ") else "sh"
        items += block_examples(doc, kind, body, start + 2, skip)
        i += 1
    return items


def line_ok(expected, actual):
    if expected.endswith(" (re)"):
        try:
            return re.fullmatch(expected[:-5], actual) is not None
        except re.error as e:
            sys.exit(f"bad regex {expected!r}: {e}")
    return expected == actual


def matches(expected, actual):
    """Whether the lines printed fit the expected lines and patterns."""
    reach = {0}
    for e in expected:
        if e == "...":
            reach = set(range(min(reach), len(actual) + 1))
        else:
            reach = {j + 1 for j in reach if j < len(actual) and line_ok(e, actual[j])}
        if not reach:
            return False
    return len(actual) in reach


def output_lines(path):
    with open(path, "rb") as f:
        data = f.read(READ_LIMIT + 1)
    text = data[:READ_LIMIT].decode("utf-8", "replace")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    elif len(data) <= READ_LIMIT:
        lines[-1] += " (no-eol)"
    if len(data) > READ_LIMIT:
        lines.append(f"... (more than {READ_LIMIT} bytes)")
    return lines


def make_fixtures(work, args):
    """build/demo.hvlog as scripts/setup.sh records it, once per run."""
    demo = os.path.join(work, "demo.hvlog")
    subprocess.run([args.hvcore, "--no-progress", "-w", "mixed", "-v", "4", "-n", "1000000", "-o", demo],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(demo, "rb") as f, gzip.GzipFile(demo + ".gz", "wb", mtime=0) as g:
        shutil.copyfileobj(f, g)
    return demo


def cmake_cache(build, name):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep and key.split(":")[0] == name:
                return value
    return ""


def cc_wrapper(path, build):
    """`cc` as the build compiles: its compiler and flags."""
    flags = " ".join(cmake_cache(build, v) for v in ("CMAKE_C_FLAGS", "CMAKE_EXE_LINKER_FLAGS")).split()
    words = [cmake_cache(build, "CMAKE_C_COMPILER") or "/usr/bin/cc"] + flags
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec " + " ".join("'" + w.replace("'", "'\\''") + "'" for w in words) + ' "$@"\n')
    os.chmod(path, 0o755)


def make_root(root, args, demo):
    for d in ("bin", "home", "tmp"):
        os.makedirs(os.path.join(root, ".doctest", d))
    if args.build:
        os.symlink(args.build, os.path.join(root, "build"))
        cc_wrapper(os.path.join(root, ".doctest", "bin", "cc"), args.build)
    else:
        os.makedirs(os.path.join(root, "build", "hvcore"))
        os.symlink(os.path.abspath(args.hvlog), os.path.join(root, "build", "hvlog"))
        os.symlink(os.path.abspath(args.hvcore), os.path.join(root, "build", "hvcore", "hvcore"))
    for name in sorted(os.listdir(args.source)):
        if name not in ("build", ".git") and not name.startswith("build-"):
            os.symlink(os.path.join(args.source, name), os.path.join(root, name))
    os.symlink(os.path.abspath(args.hvlog), os.path.join(root, ".doctest", "bin", "hvlog"))
    os.symlink(os.path.abspath(args.hvcore), os.path.join(root, ".doctest", "bin", "hvcore"))
    shutil.copy(demo, os.path.join(root, "build", "demo.hvlog"))
    shutil.copy(demo, os.path.join(root, "trace.hvlog"))
    shutil.copy(demo + ".gz", os.path.join(root, "trace.hvlog.gz"))


def run_document(doc, examples, args, demo, work):
    """Run one document's examples in one shell; the number that failed."""
    root = tempfile.mkdtemp(prefix="doc-", dir=work)
    make_root(root, args, demo)
    state = os.path.join(root, ".doctest")
    script = []
    for n, ex in enumerate(examples):
        script.append(f"{{\n{ex.text}\n}} > {state}/out.{n} 2>&1 < /dev/null\necho $? > {state}/rc.{n}")
    with open(os.path.join(state, "script.sh"), "w") as f:
        f.write("\n".join(script) + "\n")
    env = dict(os.environ, PATH=os.path.join(state, "bin") + os.pathsep + os.environ.get("PATH", ""),
               HOME=os.path.join(state, "home"), TMPDIR=os.path.join(state, "tmp"), LC_ALL="C", TZ="UTC")
    for var in ("NO_COLOR", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH", "CDPATH"):
        env.pop(var, None)
    try:
        subprocess.run(["sh", os.path.join(state, "script.sh")], cwd=root, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"{doc}: the examples did not finish in {TIMEOUT} s")
    failed = 0
    for n, ex in enumerate(examples):
        where = f"{ex.doc}:{ex.line}"
        rcfile = os.path.join(state, f"rc.{n}")
        if not os.path.exists(rcfile):
            print(f"FAIL {where}: not run (an earlier command ended the shell, or time ran out)")
            failed += 1
            continue
        with open(rcfile) as f:
            rc = int(f.read())
        actual = output_lines(os.path.join(state, f"out.{n}"))
        want = ex.status if ex.kind == "console" else 0
        ok_out = ex.kind != "console" or matches(ex.expected, actual)
        if rc == want and ok_out:
            continue
        failed += 1
        print(f"FAIL {where}: {ex.text.splitlines()[0]}")
        if rc != want:
            print(f"  exit status {rc}, expected {want}")
        if not ok_out:
            sys.stdout.writelines(difflib.unified_diff(
                [l + "\n" for l in ex.expected], [l + "\n" for l in actual],
                f"{ex.doc} (expected)", "printed", n=2))
        elif ex.kind != "console":
            for l in actual[-SHOWN_LINES:]:
                print(f"  | {l}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"{doc}: kept {root}")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hvlog", required=True)
    ap.add_argument("--hvcore", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", help="the build tree ./build stands for")
    ap.add_argument("--keep", action="store_true", help="keep the directories the documents ran in")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    src = os.path.abspath(args.source)
    args.source = src
    if args.build:
        args.build = os.path.abspath(args.build)
    files = args.files or sorted(
        [os.path.join(src, "README.md"), os.path.join(src, "examples", "README.md")] +
        glob.glob(os.path.join(src, "docs", "*.md")) + glob.glob(os.path.join(src, "man", "*.[0-9]")))
    work = tempfile.mkdtemp(prefix="hvlog-doctest-")
    failed = total = skipped = 0
    try:
        demo = make_fixtures(work, args)
        for path in files:
            doc = os.path.relpath(os.path.abspath(path), src)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            items = man_examples(doc, text) if re.search(r"\.[0-9]$", path) else markdown_examples(doc, text)
            examples = [x for x in items if isinstance(x, Example)]
            for s in items:
                if isinstance(s, Skip):
                    print(f"SKIP {s.doc}:{s.line}: {s.reason}")
                    skipped += 1
            if examples:
                failed += run_document(doc, examples, args, demo, work)
            total += len(examples)
            print(f"{doc}: {len(examples)} commands")
    finally:
        shutil.rmtree(work, ignore_errors=True) if not args.keep else None
    print(f"doctest: {total - failed} of {total} commands passed, {failed} failed, {skipped} blocks skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

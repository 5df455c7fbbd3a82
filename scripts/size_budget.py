#!/usr/bin/env python3
"""Size budget: files over 600 lines and functions whose body spans more than 80 lines.

  scripts/size_budget.py [--root DIR] [--json] [--max-file-lines 600] [--max-function-lines 80]

Scans the C++ sources (.h .cpp and friends) of the library (autograd/ layers/ detectors/) and, in a
separate section, of tools/ examples/ bench/. Exit status 1 when the library has a file over the
file budget or a function over the function budget, else 0; the other folders are reported only.

A function's length is counted from its signature line (the line of its name, where the parameter
list starts) to the line of its closing brace, both included. Lambdas and local classes belong to
the function around them; a lambda outside any function (a namespace-scope or member initialiser)
is reported on its own as `<lambda in NAME>`. Methods defined inside a class are named Class::method.

The C++ is parsed heuristically, without a compiler:
  1. strip comments, string and char literals (raw strings too) and preprocessor lines (with their
     backslash continuations); of an #if/#elif/#else chain only the first branch is kept (the
     #else branch of `#if 0`), so each brace of the kept text is balanced;
  2. tokenize what is left;
  3. walk the braces. Outside functions, the tokens since the last `;`, `{` or `}` (the "head")
     classify each `{`: a head ending in a parameter list `)` followed only by qualifiers (const,
     noexcept, override, ...), a trailing `-> type` or a constructor's `: initialiser-list` opens a
     function body, unless the name is a control keyword; a head starting with `namespace` or
     `extern "C"` opens a namespace, one with class/struct/union/enum a class, anything else (an
     `=`, a variable name, a member name in an initialiser list) an initialiser. Inside a function
     every brace is just nesting.
"""
import argparse
import json
import os
import re
import sys

LIBRARY_DIRS = ("autograd", "layers", "detectors")
OTHER_DIRS = ("tools", "examples", "bench")
CPP_EXTS = (".h", ".hh", ".hpp", ".hxx", ".inl", ".ipp", ".cc", ".cpp", ".cxx")
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80

# ---- 1. strip comments, literals and preprocessor lines ------------------------------------------

STRING_PREFIXES = {"", "u8", "u", "U", "L"}
RAW_PREFIXES = {"R", "u8R", "uR", "UR", "LR"}
IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


class _Stripper:
    """Blanks comments, literal contents and directives, keeping every newline (so line numbers stay)."""

    def __init__(self, text):
        self.text = text
        self.n = len(text)
        self.out = list(text)
        self.cond = []  # one entry per open #if: "keep" (first branch), "skip" (later branch), "skip0" (#if 0)

    def blank(self, a, b):
        out = self.out
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    def skipping(self):
        return any(c != "keep" for c in self.cond)

    def quoted_end(self, i, quote):
        """Index just past the literal opening at i (stops at an unescaped newline: a malformed literal)."""
        text, n = self.text, self.n
        j = i + 1
        while j < n:
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c == quote:
                return j + 1
            if c == "\n":
                return j
            j += 1
        return n

    def raw_end(self, i):
        """i is at the `"` of R"delim( ... )delim"; returns the index past the closing quote."""
        text = self.text
        p = text.find("(", i + 1)
        if p < 0 or p - i - 1 > 16:
            return self.quoted_end(i, '"')
        close = ")" + text[i + 1:p] + '"'
        e = text.find(close, p + 1)
        return self.n if e < 0 else e + len(close)

    def line_comment_end(self, i):
        """Index of the newline ending a // comment (a trailing backslash continues it)."""
        text, n = self.text, self.n
        j = i
        while True:
            nl = text.find("\n", j)
            if nl < 0:
                return n
            k = nl - 1
            if k >= 0 and text[k] == "\r":
                k -= 1
            if k >= 0 and text[k] == "\\":
                j = nl + 1
                continue
            return nl

    def directive_end(self, i):
        """Index of the newline ending the directive starting at i (backslash continuations included)."""
        text, n = self.text, self.n
        j = i
        while j < n:
            c = text[j]
            if c == "\\" and text.startswith("\n", j + 1):
                j += 2
            elif c == "\\" and text.startswith("\r\n", j + 1):
                j += 3
            elif c == "\n":
                return j
            elif text.startswith("/*", j):
                e = text.find("*/", j + 2)
                j = n if e < 0 else e + 2
            elif text.startswith("//", j):
                return self.line_comment_end(j)
            elif c in "\"'":
                j = self.quoted_end(j, c)
            else:
                j += 1
        return n

    def directive(self, i):
        """Handles the directive at i (conditional-branch bookkeeping); returns the index past it."""
        j = self.directive_end(i)
        m = re.match(r"#\s*(\w+)\s*(.*)", self.text[i:j], re.S)
        word, rest = (m.group(1), m.group(2).strip()) if m else ("", "")
        if word in ("if", "ifdef", "ifndef"):
            self.cond.append("skip0" if word == "if" and rest.split("//")[0].strip() in ("0", "(0)") else "keep")
        elif word in ("elif", "else", "elifdef", "elifndef") and self.cond:
            self.cond[-1] = "keep" if self.cond[-1] == "skip0" else "skip"
        elif word == "endif" and self.cond:
            self.cond.pop()
        self.blank(i, j)
        return j

    def run(self):
        text, n = self.text, self.n
        i = 0
        line_start = True  # only blanks since the last newline: a `#` here starts a directive
        while i < n:
            c = text[i]
            if c == "\n":
                line_start = True
                i += 1
                continue
            if c in " \t\r\f\v":
                i += 1
                continue
            if c == "\\" and (text.startswith("\n", i + 1) or text.startswith("\r\n", i + 1)):
                i += 2
                continue
            if line_start and c == "#":
                i = self.directive(i)
                continue
            if self.skipping():  # inside a dropped #if branch: blank the line, look only for directives
                e = text.find("\n", i)
                e = n if e < 0 else e
                self.blank(i, e)
                i = e
                continue
            line_start = False
            if text.startswith("//", i):
                e = self.line_comment_end(i)
                self.blank(i, e)
                i = e
            elif text.startswith("/*", i):
                e = text.find("*/", i + 2)
                e = n if e < 0 else e + 2
                self.blank(i, e)
                i = e
            elif c == '"':
                e = self.quoted_end(i, '"')
                self.blank(i + 1, e - 1)
                i = e
            elif c == "'":
                e = self.quoted_end(i, "'")
                self.blank(i + 1, e - 1)
                i = e
            elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
                i = self.number_end(i)  # a pp-number: 1'000'000 keeps its digit separators out of char literals
            elif c in IDENT_CHARS:
                e = i
                while e < n and text[e] in IDENT_CHARS:
                    e += 1
                word = text[i:e]
                if e < n and text[e] == '"' and word in RAW_PREFIXES:
                    end = self.raw_end(e)
                    self.blank(i, end)
                    self.out[i] = '"'  # the literal stays one token: "<blanks>"
                    if text[end - 1] == '"':
                        self.out[end - 1] = '"'
                    i = end
                elif e < n and text[e] in "\"'" and word in STRING_PREFIXES:
                    self.blank(i, e)  # the prefix goes; the literal is handled at e
                    i = e
                else:
                    i = e
            else:
                i += 1
        return "".join(self.out)

    def number_end(self, i):
        text, n = self.text, self.n
        j = i + 1
        while j < n:
            c = text[j]
            if c in "eEpP" and j + 1 < n and text[j + 1] in "+-":
                j += 2
            elif c in IDENT_CHARS or c == ".":
                j += 1
            elif c == "'" and j + 1 < n and text[j + 1] in IDENT_CHARS:
                j += 2
            else:
                break
        return j


def strip_cpp(text):
    """The text with comments, literal contents and preprocessor lines blanked (same length, same lines).

  A string or char literal becomes its two quotes around blanks ("   "), so it still reads as one token.
  """
    return _Stripper(text).run()


# ---- 2. tokens -----------------------------------------------------------------------------------

class Tok:
    __slots__ = ("text", "line", "kind")

    def __init__(self, text, line, kind):
        self.text, self.line, self.kind = text, line, kind  # kind: id, num, str, punct, group ({} placeholder)

    def __repr__(self):
        return f"{self.text}@{self.line}"


TOKEN_RE = re.compile(r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r\f\v\\]+)
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<num>\.?[0-9](?:[eEpP][+-]|'[A-Za-z0-9_]|[A-Za-z0-9_.])*)
  | (?P<str>"[^"]*"|'[^']*')
  | (?P<punct>::|->|\.\.\.|&&|.)
""", re.X | re.S)


def tokenize(clean):
    toks = []
    line = 1
    for m in TOKEN_RE.finditer(clean):
        kind = m.lastgroup
        if kind == "nl":
            line += 1
        elif kind == "ws":
            pass
        else:
            toks.append(Tok(m.group(), line, kind))
            line += m.group().count("\n")  # a blanked multi-line literal
    return fold_operators(toks)


def fold_operators(toks):
    """`operator` `(` `)` -> one id token `operator()` (likewise operator+=, operator<<, operator bool)."""
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        end = -1
        if t.text == "operator" and i + 2 < len(toks) and toks[i + 1].text == "(" and toks[i + 2].text == ")":
            end = i + 3
        elif t.text == "operator":
            end = next((k for k in range(i + 1, min(i + 9, len(toks))) if toks[k].text == "("), -1)
        if end < 0:
            out.append(t)
            i += 1
            continue
        name = "operator"
        for x in toks[i + 1:end]:
            name += (" " if name[-1].isalnum() and x.text[0].isalnum() else "") + x.text
        out.append(Tok(name, t.line, "id"))
        i = end
    return out


# ---- 3. classify each `{` outside functions ------------------------------------------------------

CONTROL = {"if", "for", "while", "switch", "catch", "do", "else", "try"}
NOT_A_NAME = {"decltype", "sizeof", "alignof", "alignas", "noexcept", "__attribute__", "throw", "static_assert",
              "typeid", "requires", "__declspec", "return", "new", "delete"}
QUALIFIERS = {"const", "volatile", "override", "final", "mutable", "constexpr", "consteval", "static", "&", "&&",
              "try", "noexcept", "throw", "__attribute__", "alignas"}
EXPR_KEYWORDS = {"return", "co_return", "co_yield", "co_await", "throw", "case", "else", "do"}
MACRO_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
PAIRS = {"(": ")", "[": "]", "<": ">"}


def _match(toks, i):
    """Index of the bracket closing the one opening at toks[i], or len(toks) when it stays open. Inside
  <...> the (...) and [...] groups are skipped whole, so `<decltype(a > b)>` closes at the right >."""
    open_, close = toks[i].text, PAIRS[toks[i].text]
    depth = 0
    k = i
    while k < len(toks):
        x = toks[k].text
        if open_ == "<" and x in ("(", "["):
            k = _match(toks, k) + 1
            continue
        if x == open_:
            depth += 1
        elif x == close:
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return len(toks)


def _skip_group(toks, i):
    """Index just past the group opening at toks[i]."""
    return min(_match(toks, i) + 1, len(toks))


def _match_back(toks, r):
    """Index of the [ or < opening the group that toks[r] (a ] or >) closes, or -1."""
    close = toks[r].text
    open_ = "[" if close == "]" else "<"
    depth = 0
    for k in range(r, -1, -1):
        depth += toks[k].text == close
        depth -= toks[k].text == open_
        if depth == 0:
            return k
    return -1


def _qualifiers(s, i):
    """Index past the qualifiers from s[i] on: const, noexcept(...), &&, [[attr]], MACRO(...), ..."""
    while i < len(s):
        t = s[i].text
        if t == "[" and i + 1 < len(s) and s[i + 1].text == "[":
            i = _skip_group(s, i)
        elif t in QUALIFIERS or (s[i].kind == "id" and MACRO_RE.match(t)):
            i += 1
            if i < len(s) and s[i].text == "(" and t not in ("const", "&", "&&"):
                i = _skip_group(s, i)
        else:
            break
    return i


def _init_list(s, i):
    """Checks a constructor's initialiser list s[i:] (after its `:`). Returns (valid, complete): complete
  when the last member has its (...) or {...}, so the coming `{` is the body; incomplete when the list
  ends in a member name, so the coming `{` is that member's brace initialiser."""
    while True:
        named = False
        while i < len(s) and s[i].text not in ("(", ",") and s[i].kind != "group":
            if s[i].text == "<":
                i = _skip_group(s, i)
                continue
            if s[i].kind != "id" and s[i].text not in ("::", "template"):
                return False, False
            named = True
            i += 1
        if i == len(s):
            return named, False
        if s[i].text == "," or not named:
            return False, False
        i = _skip_group(s, i) if s[i].text == "(" else i + 1
        if i < len(s) and s[i].text == "...":
            i += 1
        if i == len(s):
            return True, True
        if s[i].text != ",":
            return False, False
        i += 1


def _function_suffix(s, i):
    """What may follow a parameter list up to the body's `{`. Returns (valid, complete) as _init_list."""
    i = _qualifiers(s, i)
    if i == len(s):
        return True, True
    if s[i].text in ("->", "requires"):
        return True, True  # a trailing return type or a constraint: the rest is a type or an expression
    if s[i].text == ":":
        return _init_list(s, i + 1)
    return False, False


def _name_before(toks, k):
    """The qualified name ending at toks[k]: f, ns::Class::f, ~Foo, Foo<T>::bar, f<int>, operator()."""
    start = k
    while start >= 0:
        if toks[start].text == ">":  # template arguments: back to the < and the name before it
            start = _match_back(toks, start) - 1
            if start < 0 or toks[start].kind != "id":
                return "".join(x.text for x in toks[max(start, 0) + 1:k + 1])
        if start > 0 and toks[start - 1].text == "~":
            start -= 1
        if start > 1 and toks[start - 1].text == "::" and (toks[start - 2].kind == "id" or toks[start - 2].text == ">"):
            start -= 2
            continue
        break
    out = ""
    for x in toks[start:k + 1]:  # a space only between two words (operator bool stays readable)
        out += (" " if out and out[-1].isalnum() and x.text[0].isalnum() else "") + x.text
    return out


def match_function(head):
    """If head is a function signature up to its body: (name, line of the name, complete), else None.

  The parameter list is the first top-level (...) after a name whose suffix is only qualifiers, a
  trailing return type or an initialiser list, so MACRO(x) void f() and __attribute__((...)) are skipped."""
    depth = 0
    for p, t in enumerate(head):
        if t.text in ("(", "["):
            if depth == 0 and t.text == "(" and p > 0:
                prev = head[p - 1]
                if (prev.kind == "id" and prev.text not in NOT_A_NAME) or prev.text == ">":
                    q = _match(head, p)
                    if q < len(head):
                        ok, complete = _function_suffix(head, q + 1)
                        if ok:
                            return _name_before(head, p - 1), prev.line, complete
            depth += 1
        elif t.text in (")", "]"):
            depth -= 1
    return None


def _lambda_at_end(toks):
    """Index of the introducer [ when toks end in a lambda's `[...]`, `[...](...) mutable -> T`, ...; else -1."""
    for r in range(len(toks) - 1, -1, -1):
        if toks[r].text != "]":
            continue
        l = _match_back(toks, r)
        if l < 0 or toks[l + 1].text == "[" or (l > 0 and toks[l - 1].text == "["):
            continue  # [[attribute]]
        if l > 0:
            prev = toks[l - 1]
            if (prev.kind in ("id", "num", "str") and prev.text not in EXPR_KEYWORDS) or prev.text in (")", "]"):
                continue  # a subscript or an array declarator
        i = r + 1
        if i < len(toks) and toks[i].text == "<":  # C++20 []<class T>(T x)
            i = _skip_group(toks, i)
        if i < len(toks) and toks[i].text == "(":
            i = _skip_group(toks, i)
        i = _qualifiers(toks, i)
        if i == len(toks) or toks[i].text in ("->", "requires"):
            return l
    return -1


def _open_group(head):
    """Index of the innermost unclosed ( or [ in head, or -1."""
    stack = []
    for k, t in enumerate(head):
        if t.text in ("(", "["):
            stack.append(k)
        elif t.text in (")", "]") and stack:
            stack.pop()
    return stack[-1] if stack else -1


def _strip_prefix(head):
    """Drops access specifiers, [[attributes]] and template<...> from the front of a head."""
    i = 0
    while i < len(head):
        t = head[i].text
        if t in ("public", "private", "protected") and i + 1 < len(head) and head[i + 1].text == ":":
            i += 2
        elif t == "[" and i + 1 < len(head) and head[i + 1].text == "[":
            i = _skip_group(head, i)
        elif t == "template" and i + 1 < len(head) and head[i + 1].text == "<":
            i = _skip_group(head, i + 1)
        else:
            break
    return head[i:]


def _lambda_name(head):
    """A label for a lambda outside functions: the callee it is passed to or the variable it initialises."""
    g = _open_group(head)
    if g > 0 and head[g - 1].kind == "id":
        return f"<lambda in {_name_before(head, g - 1)}>"
    for k, t in enumerate(head):
        if t.text == "=" and k > 0 and head[k - 1].kind == "id":
            return f"<lambda in {head[k - 1].text}>"
    return "<lambda>"


def _class_name(h):
    """The name a class/struct/union/enum head declares (the last non-MACRO word before : final < or the end)."""
    for k, t in enumerate(h):
        if t.text in ("class", "struct", "union", "enum"):
            ids = []
            i = k + 1
            while i < len(h) and h[i].text not in (":", "<", "final"):
                if h[i].text in ("(", "["):
                    i = _skip_group(h, i)
                    continue
                if h[i].kind == "id" and h[i].text not in ("class", "struct"):
                    ids.append(h[i].text)
                i += 1
            real = [x for x in ids if not MACRO_RE.match(x)] or ids
            return real[-1] if real else "(anonymous)"
    return "(anonymous)"


def classify(head, in_initialiser=False):
    """What a `{` opens outside functions, from the tokens before it since the last ; { or }.

  Returns (kind, name, line): kind is function or lambda (reported, `line` is the signature line), code
  (a block of code belonging to no reported function: a stray control block, a lambda inside an
  initialiser list), namespace, class, block (unknown: scanned like a namespace) or init."""
    lam = _lambda_at_end(head)
    if in_initialiser:
        return ("lambda", _lambda_name(head), head[lam].line) if lam >= 0 else ("init", None, None)
    g = _open_group(head)
    if lam >= 0:
        if g > 0:
            f = match_function(_strip_prefix(head[:g]))
            if f and not f[2]:  # Foo() : cb_([] { ... }): the lambda is part of the constructor
                return "code", None, None
        return "lambda", _lambda_name(head), head[lam].line
    if g >= 0:
        return "init", None, None  # a brace inside an open ( or [: an argument or a subscript
    h = _strip_prefix(head)
    if not h:
        return "block", None, None
    first = h[0].text
    if first == "namespace" or (first == "inline" and len(h) > 1 and h[1].text == "namespace"):
        return "namespace", None, None
    if first == "extern" and len(h) == 2 and h[1].kind == "str":  # extern "C" {
        return "namespace", None, None
    if first in CONTROL:
        return "code", first, h[0].line
    f = match_function(h)
    if f:
        name, line, complete = f
        if not complete:
            return "init", None, None  # Foo() : member_{...}: the member's brace initialiser
        if name in CONTROL:
            return "code", name, line
        return "function", name, line
    if any(t.text in ("class", "struct", "union", "enum") for t in h) and not any(t.text == "=" for t in h):
        return "class", _class_name(h), None
    return "init", None, None


class _Frame:
    __slots__ = ("kind", "name", "line", "head", "depth", "last_func")

    def __init__(self, kind, name=None, line=None):
        self.kind, self.name, self.line = kind, name, line
        self.head = []  # tokens since the last ; { } at this level (closed initialisers as one {} token)
        self.depth = 0  # brace nesting inside a function-like frame
        self.last_func = None  # the function that just closed here (a function-try-block's catch extends it)


FUNCTION_LIKE = ("function", "lambda", "code")
RESETS_HEAD = ("namespace", "class", "block", "function")


def _group_token(line):
    return Tok("{}", line, "group")


def _close_function_like(frame, stack, close_tok, found):
    """Records a function or lambda whose closing brace is close_tok; the parent head goes on or restarts."""
    parent = stack[-1]
    line = close_tok.line
    if frame.kind in ("function", "lambda"):
        classes = [f.name for f in stack if f.kind == "class"]
        name = "::".join(classes + [frame.name]) if frame.kind == "function" else frame.name
        rec = {"name": name, "line": frame.line, "end": line, "lines": line - frame.line + 1}
        found.append(rec)
        if frame.kind == "function":
            parent.head = []
            parent.last_func = rec
        else:
            parent.head.append(_group_token(line))  # the lambda is part of an expression that goes on
        return
    if frame.name == "catch" and parent.last_func:  # void f() try { ... } catch (...) { ... }
        parent.last_func["end"] = line
        parent.last_func["lines"] = line - parent.last_func["line"] + 1
    if frame.name is None:
        parent.head.append(_group_token(line))
    else:
        parent.head = []


def find_functions(text):
    """Functions of C++ source text, in order of their closing brace: ([{name, line, end, lines}], warnings).

  line is the signature line, end the closing brace's line, lines = end - line + 1."""
    stack = [_Frame("file")]
    found, warnings = [], []
    for t in tokenize(strip_cpp(text)):
        top = stack[-1]
        if top.kind in FUNCTION_LIKE:  # inside a body every brace is nesting, until the one closing it
            if t.text == "{":
                top.depth += 1
            elif t.text == "}":
                if top.depth:
                    top.depth -= 1
                else:
                    stack.pop()
                    _close_function_like(top, stack, t, found)
            continue
        if t.text == ";":
            top.head = []
            top.last_func = None
        elif t.text == "{":
            kind, name, line = classify(top.head, in_initialiser=top.kind == "init")
            stack.append(_Frame(kind, name, line if line is not None else t.line))
            if kind in RESETS_HEAD or (kind == "code" and name is not None):
                top.head = []
            if not (kind == "code" and name == "catch"):
                top.last_func = None
        elif t.text == "}":
            if len(stack) == 1:
                warnings.append(f"line {t.line}: unmatched }}")
                continue
            stack.pop()
            if top.kind == "init":
                stack[-1].head.append(_group_token(t.line))
            else:
                stack[-1].head = []
        else:
            top.head.append(t)
    if len(stack) > 1:
        warnings.append(f"{len(stack) - 1} unclosed brace(s) at end of file")
    return found, warnings


# ---- 4. the report -------------------------------------------------------------------------------

def count_lines(text):
    return len(text.splitlines())


def scan_tree(root, dirs):
    """(files, functions) for every C++ source under root/dir for dir in dirs; paths relative to root."""
    files, functions, warnings = [], [], []
    for d in dirs:
        base = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for fn in sorted(filenames):
                if not fn.endswith(CPP_EXTS):
                    continue
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                files.append({"path": rel, "lines": count_lines(text)})
                found, warns = find_functions(text)
                for rec in found:
                    functions.append(dict(rec, path=rel))
                warnings += [f"{rel}: {w}" for w in warns]
    return files, functions, warnings


def over_budget(files, functions, max_file, max_func):
    big_files = sorted((f for f in files if f["lines"] > max_file), key=lambda f: (-f["lines"], f["path"]))
    big_funcs = sorted((f for f in functions if f["lines"] > max_func),
                       key=lambda f: (-f["lines"], f["path"], f["line"]))
    return big_files, big_funcs


def print_section(title, big_files, big_funcs, max_file, max_func):
    print(f"== {title}: {len(big_files)} files over {max_file} lines, {len(big_funcs)} functions over {max_func} lines")
    for f in big_files:
        print(f"  {f['path']}:1  (file)  {f['lines']} lines")
    for f in big_funcs:
        print(f"  {f['path']}:{f['line']}  {f['name']}  {f['lines']} lines")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="repository root (default: the folder above scripts/)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--max-file-lines", type=int, default=MAX_FILE_LINES)
    ap.add_argument("--max-function-lines", type=int, default=MAX_FUNCTION_LINES)
    a = ap.parse_args(argv)
    if not os.path.isdir(a.root):
        print(f"size_budget: --root {a.root} is not a directory", file=sys.stderr)
        return 2

    lib_files, lib_funcs, lib_warn = scan_tree(a.root, LIBRARY_DIRS)
    oth_files, oth_funcs, oth_warn = scan_tree(a.root, OTHER_DIRS)
    lib_big = over_budget(lib_files, lib_funcs, a.max_file_lines, a.max_function_lines)
    oth_big = over_budget(oth_files, oth_funcs, a.max_file_lines, a.max_function_lines)
    status = 1 if lib_big[0] or lib_big[1] else 0
    summary = (f"size budget: {len(lib_big[0])} files over {a.max_file_lines} lines, {len(lib_big[1])} functions "
               f"over {a.max_function_lines} lines (library: {' '.join(d + '/' for d in LIBRARY_DIRS)})")

    if a.json:
        json.dump({
            "limits": {"file_lines": a.max_file_lines, "function_lines": a.max_function_lines},
            "library": {"dirs": list(LIBRARY_DIRS), "files_over": lib_big[0], "functions_over": lib_big[1],
                        "files_scanned": len(lib_files), "functions_scanned": len(lib_funcs)},
            "other": {"dirs": list(OTHER_DIRS), "files_over": oth_big[0], "functions_over": oth_big[1],
                      "files_scanned": len(oth_files), "functions_scanned": len(oth_funcs)},
            "warnings": lib_warn + oth_warn,
            "summary": summary,
            "status": status,
        }, sys.stdout, indent=2)
        print()
        return status

    for w in lib_warn + oth_warn:
        print(f"warning: {w}", file=sys.stderr)
    print_section(f"library ({' '.join(d + '/' for d in LIBRARY_DIRS)})", *lib_big, a.max_file_lines,
                  a.max_function_lines)
    print_section(f"reported only ({' '.join(d + '/' for d in OTHER_DIRS)})", *oth_big, a.max_file_lines,
                  a.max_function_lines)
    print(summary)
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""bench/RESULTS.md is shared by several benchmarks. Each owns named sections, delimited by
    <!-- section: NAME -->
    ...
    <!-- /section: NAME -->
and rewrites only its own; every other section is kept as it was, in its place.
    sections.py RESULTS.md NAME < new-section.md     replace (or append) section NAME
A bench written in Python may import it and call merge(text, name, body) instead."""
import re
import sys


def _pattern(name):
    return re.compile(r"<!-- section: " + re.escape(name) + r" -->\n.*?<!-- /section: " + re.escape(name) + r" -->\n?",
                      re.S)


def wrap(name, body):
    return f"<!-- section: {name} -->\n{body.rstrip()}\n<!-- /section: {name} -->\n"


def merge(text, name, body):
    block = wrap(name, body)
    if _pattern(name).search(text):
        return _pattern(name).sub(lambda _: block, text, count=1)
    return (text.rstrip() + "\n\n" if text.strip() else "") + block


def names(text):
    return re.findall(r"<!-- section: (.+?) -->", text)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    path, name = sys.argv[1], sys.argv[2]
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    text = merge(text, name, sys.stdin.read())
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

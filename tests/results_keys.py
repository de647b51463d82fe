#!/usr/bin/env python3
"""The key structure of a results.json: which keys each kind of object has (data-keyed maps such
as hosts, states, errno names and matrix pointers are collapsed to "*").

    results_keys.py tree RESULTS.json > KEYS.json        the structure of a run
    results_keys.py check KEYS.json RESULTS.json         exit 1 if RESULTS lacks a key KEYS has

The contract allows adding keys, never removing them: `check` reports only missing ones.
"""
import json
import sys

# Paths (dot-joined, lists as "[]") whose object keys are data, not schema.
MAPS = {
    "scenarios[].cells[].params",
    "scenarios[].cells[].runs[].sockets",
    "scenarios[].cells[].runs[].sockets.*.peak",
    "scenarios[].cells[].runs[].sockets.*.cleared_ms",
    "scenarios[].cells[].runs[].probes.failed",
    "scenarios[].cells[].runs[].tcp_counters",
    "scenarios[].cells[].runs[].tcp_counters.*",
    "scenarios[].cells[].runs[].timeline[].sockets",
    "scenarios[].cells[].runs[].timeline[].sockets.*",
}


def walk(value, path, out):
    if isinstance(value, dict):
        keys = out.setdefault(path, set())
        is_map = path in MAPS
        for k, v in value.items():
            name = "*" if is_map else k
            keys.add(name)
            walk(v, (path + "." if path else "") + name, out)
    elif isinstance(value, list):
        for item in value:
            walk(item, path + "[]", out)


def tree(results):
    out = {}
    walk(results, "", out)
    return {k: sorted(v) for k, v in sorted(out.items())}


def main(argv):
    if len(argv) == 3 and argv[1] == "tree":
        with open(argv[2]) as f:
            json.dump(tree(json.load(f)), sys.stdout, indent=1)
        print()
        return 0
    if len(argv) == 4 and argv[1] == "check":
        with open(argv[2]) as f:
            want = json.load(f)
        with open(argv[3]) as f:
            have = tree(json.load(f))
        missing = [(path, key) for path, keys in want.items() for key in keys
                   if key not in have.get(path, [])]
        for path, key in missing:
            print("missing key: %s.%s" % (path or "<top>", key))
        added = sum(len(set(keys) - set(want.get(path, []))) for path, keys in have.items())
        print("results keys: %d checked, %d missing, %d added" % (
            sum(len(k) for k in want.values()), len(missing), added))
        return 1 if missing else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

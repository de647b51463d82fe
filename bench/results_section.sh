#!/usr/bin/env bash
# Replaces (or appends) one marked section of bench/RESULTS.md with stdin:
#   <!-- section:NAME begin -->
#   ...
#   <!-- section:NAME end -->
# Each benchmark owns its section; bench/report.py (bench/run.sh) rewrites the rest of the file
# and keeps every marked section. Usage: some-bench | bench/results_section.sh NAME [FILE]
set -euo pipefail
name=$1
file=${2:-$(cd "$(dirname "$0")" && pwd)/RESULTS.md}
body=$(mktemp)
trap 'rm -f "$body"' EXIT
cat >"$body"
touch "$file"
/usr/bin/python3 - "$name" "$file" "$body" <<'PY'
import re, sys
name, path, body_path = sys.argv[1:4]
begin, end = f"<!-- section:{name} begin -->", f"<!-- section:{name} end -->"
text = open(path).read()
block = begin + "\n" + open(body_path).read().rstrip("\n") + "\n" + end
pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
if pattern.search(text):
    text = pattern.sub(lambda m: block, text)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
PY

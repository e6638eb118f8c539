"""The numbers the docs quote equal docs/results/numbers.json (analysis/doc_numbers.py check),
and the check can tell: in a copy of the docs, a marked number changed by hand, a marker whose
number is gone from numbers.json and a malformed numbers.json each fail it with a line naming the
file, the line and the number; `regenerate`'s rewriting sets every marked number to its value
and leaves all other text alone. Fast: no job is run here (test_doc_numbers_rerun reruns the
short jobs)."""
import json
import os
import shutil
import subprocess
import sys

import ripentest as rt

SCRIPT = os.path.join(rt.SOURCE, "analysis", "doc_numbers.py")
sys.path.insert(0, os.path.join(rt.SOURCE, "analysis"))
import doc_numbers  # noqa: E402


def check(root):
    return subprocess.run([sys.executable, SCRIPT, "check", "--root", root], capture_output=True,
                          text=True, timeout=120)


result = check(rt.SOURCE)
rt.check(result.returncode == 0, f"the docs differ from numbers.json:\n{result.stderr}")
marks = doc_numbers.markers(rt.SOURCE)
print(result.stdout.strip())
rt.check(len(marks) >= 100, f"only {len(marks)} marked numbers in the docs")
names = {name for _, _, name, _ in marks}
for job in doc_numbers.JOBS.values():  # every job's numbers are quoted somewhere
    rt.check(any(n.startswith(job.name + ".") for n in names),
             f"no marked number of {job.path} in the docs")


def copy_tree():
    root = rt.workdir("doc-numbers")
    shutil.copy(os.path.join(rt.SOURCE, "README.md"), root)
    shutil.copytree(os.path.join(rt.SOURCE, "docs"), os.path.join(root, "docs"))
    return root


# A marked number changed by hand.
root = copy_tree()
path = os.path.join(root, "docs", "reproduction.md")
with open(path) as f:
    text = f.read()
target = "<!--n:closest.ratio-->"
start = text.index(target) + len(target)
changed = text[:start] + "18.5 [17.8, 20.0]" + text[text.index("<!--/n-->", start):]
with open(path, "w") as f:
    f.write(changed)
line = changed[:start].count("\n") + 1
result = check(root)
rt.check(result.returncode == 1 and f"docs/reproduction.md:{line}: closest.ratio: the docs say "
         "'18.5 [17.8, 20.0]'" in result.stderr,
         f"a changed number: exit {result.returncode}, {result.stderr.strip()[:400]}")

# rewrite() puts it back and changes nothing else.
numbers = doc_numbers.load_numbers(root)["numbers"]
missing = doc_numbers.rewrite(root, numbers)
with open(path) as f:
    rt.check(f.read() == text, "rewrite did not restore the file exactly")
rt.check(not missing, f"rewrite found markers without numbers: {missing}")
rt.check(check(root).returncode == 0, "after rewrite the check still fails")

# A number gone from numbers.json.
numbers_path = os.path.join(root, "docs", "results", "numbers.json")
with open(numbers_path) as f:
    data = json.load(f)
del data["numbers"]["closest.ratio"]
with open(numbers_path, "w") as f:
    json.dump(data, f)
result = check(root)
rt.check(result.returncode == 1 and "closest.ratio: no such number in docs/results/numbers.json"
         in result.stderr, f"a missing number: exit {result.returncode}, "
         f"{result.stderr.strip()[:300]}")

# numbers.json that is no JSON: bad input, one line, exit 2.
with open(numbers_path, "w") as f:
    f.write("{not json")
result = check(root)
lines = result.stderr.strip().splitlines()
rt.check(result.returncode == 2 and len(lines) == 1 and lines[0].startswith("doc_numbers: ") and
         "numbers.json: not readable as JSON" in lines[0],
         f"a malformed numbers.json: exit {result.returncode}, {result.stderr.strip()[:300]}")
rt.finish("test_doc_numbers")

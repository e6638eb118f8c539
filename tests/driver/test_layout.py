"""The result file describes itself and docs/hdf5-layout.md describes the file, exactly.

Runs a job with every kind (ensembles with snapshots, window sets with F(q), a relay set), as a
whole and as two shards merged, then walks the files and the ```layout block of the document
together:
  - every group and dataset in a file is documented (path, group or dataset, element type, number
    of dimensions), with exactly the documented attributes (besides `description` and `units`);
  - every documented path occurs in one of the files;
  - every group and dataset has a `description`, and every string attribute reads as str;
  - the Kaplan-Meier curve in the file equals an independent computation from the replicas'
    doubling times, and its median is the one `ripen run` printed in its summary.
"""
import math
import os
import re

import h5py
import numpy as np

import ripentest as rt

LAYOUT = os.path.join(rt.SOURCE, "docs", "hdf5-layout.md")
TYPES = {"u8": np.uint8, "i32": np.int32, "i64": np.int64, "f64": np.float64}


def parse_layout():
    """{pattern: entry} from the ```layout block."""
    with open(LAYOUT) as f:
        text = f.read()
    block = re.search(r"```layout\n(.*?)```", text, re.S)
    if not rt.check(block is not None, "docs/hdf5-layout.md has no ```layout block"):
        return {}
    entries = {}
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        tokens = line.split()
        path, kind = tokens[0], tokens[1]
        rest = tokens[2:]
        shape = None
        if rest and rest[0].startswith("["):
            shape = rest.pop(0).strip("[]").split(",")
        maybe = "maybe" in rest
        attrs, optional, target = set(), set(), None
        for token in rest:
            if token == "attrs:":
                target = attrs
            elif token == "optional:":
                target = optional
            elif token != "maybe" and target is not None:
                target.add(token)
        pattern = "^" + re.escape(path).replace(re.escape("<name>"), "[^/]+").replace(
            re.escape("<k>"), r"\d+") + "$"
        entries[pattern] = dict(path=path, kind=kind, shape=shape, maybe=maybe, attrs=attrs,
                                optional=optional, seen=False)
    return entries


def documented(entries, name):
    matches = [e for p, e in entries.items() if re.match(p, name)]
    return matches[0] if len(matches) == 1 else None


def check_attributes(obj, name, entry):
    keys = set(obj.attrs.keys())
    rt.check("description" in keys, f"{name}: no description")
    for key, value in obj.attrs.items():
        if isinstance(value, (bytes, np.bytes_)):
            rt.check(False, f"{name}@{key}: a string attribute reads as bytes, not str")
    extra = keys - entry["attrs"] - entry["optional"] - {"description", "units"}
    missing = entry["attrs"] - keys
    rt.check(not extra, f"{name}: attributes not in docs/hdf5-layout.md: {sorted(extra)}")
    rt.check(not missing, f"{name}: documented attributes missing: {sorted(missing)}")


def walk(path, entries):
    with h5py.File(path, "r") as f:
        objects = [("/", f)]
        f.visititems(lambda name, obj: objects.append(("/" + name, obj)))
        for name, obj in objects:
            entry = documented(entries, name)
            if not rt.check(entry is not None, f"{os.path.basename(path)}: {name} is not in "
                            "docs/hdf5-layout.md (or matches twice)"):
                continue
            entry["seen"] = True
            if isinstance(obj, h5py.Group):
                rt.check(entry["kind"] == "group", f"{name}: a group, documented as "
                         f"{entry['kind']}")
            elif entry["kind"] == "string":
                rt.check(obj.dtype.kind == "S", f"{name}: not a string dataset")
            else:
                rt.check(obj.dtype == TYPES.get(entry["kind"]),
                         f"{name}: type {obj.dtype}, documented {entry['kind']}")
                rt.check(len(obj.shape) == len(entry["shape"] or []),
                         f"{name}: shape {obj.shape}, documented [{entry['shape']}]")
            check_attributes(obj, name, entry)


def check_survival(path, summary):
    """The stored curve against one computed here from tau, censored and steps_run."""
    with h5py.File(path, "r") as f:
        for name, g in f["ensembles"].items():
            times = np.where(g["censored"][()] == 1, g["steps_run"][()], g["tau"][()])
            events = g["censored"][()] == 0
            km = g["survival"]
            t, s = km["time"][()], km["survival"][()]
            expect_t = np.unique(times[events])
            at_risk = np.array([(times >= x).sum() for x in expect_t])
            deaths = np.array([((times == x) & events).sum() for x in expect_t])
            expect_s = np.cumprod(1 - deaths / at_risk)
            rt.check(np.array_equal(t, expect_t) and np.allclose(s, expect_s, rtol=0,
                                                                 atol=1e-15),
                     f"{name}: stored Kaplan-Meier curve differs from the replicas' times")
            rt.check(np.array_equal(km["at_risk"][()], at_risk) and
                     np.array_equal(km["events"][()], deaths), f"{name}: at risk / events")
            with np.errstate(divide="ignore", invalid="ignore"):
                green = np.cumsum(np.where(at_risk > deaths,
                                           deaths / (at_risk * (at_risk - deaths)), np.inf))
                se = expect_s * np.sqrt(green)
            finite = np.isfinite(se)
            rt.check(np.allclose(km["se"][()][finite], se[finite], rtol=1e-12, atol=1e-15),
                     f"{name}: Greenwood standard error")
            lower, upper = km["lower"][()], km["upper"][()]
            rt.check(np.all((0 <= lower) & (lower <= s + 1e-15) & (s <= upper + 1e-15) &
                            (upper <= 1)), f"{name}: band not around S inside [0, 1]")
            below = np.flatnonzero(expect_s <= 0.5 + 1e-12)
            median = float(expect_t[below[0]]) if len(below) else -1.0
            rt.check(km.attrs["median"] == median, f"{name}: stored median "
                     f"{km.attrs['median']} != {median}")
            printed = summary.get(name)
            rt.check(printed == (None if median < 0 else round(median)),
                     f"{name}: summary printed median {printed}, file {median}")
            print(f"{name}: {len(t)} event times, median {median:g}; band and Greenwood agree")


def printed_medians(stdout):
    medians = {}
    for line in stdout.splitlines():
        m = re.match(r"\s+(\S+)\s+\d+ replicas,.*median tau (\d+)$", line)
        if m:
            medians[m.group(1)] = int(m.group(2))
    return medians


directory = rt.workdir("layout")
job = rt.quick_job(replicas=6, relay=True, ffs=True, exchange=True, particles=True,
                   shell_loss=True)
job["ensembles"][0]["stop_at_doubling"] = True
path = rt.write_job(directory, "job.json", job)
whole = os.path.join(directory, "whole.h5")
result = rt.run(["run", path, "--out", whole, "--bootstrap", "20"], ranks=2, cwd=directory)
for i in range(2):
    rt.run(["run", path, "--shard", f"{i}/2", "--quiet"], ranks=1, cwd=directory)
merged = os.path.join(directory, "merged.h5")
rt.run(["merge", merged, "--bootstrap", "20"] +
       [os.path.join(directory, f"job.shard-{i}-of-2.h5") for i in range(2)], ranks=2,
       cwd=directory)

entries = parse_layout()
for file in (whole, merged, os.path.join(directory, "job.shard-0-of-2.h5")):
    walk(file, entries)
unseen = [e["path"] for e in entries.values() if not e["seen"]]
rt.check(not unseen, f"documented but in none of the files: {unseen}")
print(f"{len(entries)} documented paths, all seen; every object documented")
with h5py.File(merged, "r") as f:
    shards = f["provenance/shards"]
    rt.check(len(shards) == 2 and {shards[k].attrs["shard_index"] for k in shards} == {0, 1},
             "merged file: the shards' provenance")
check_survival(whole, printed_medians(result.stdout))
rt.check(not rt.same_results(whole, merged), "merged file differs from the whole run")
rt.finish("test_layout")

#!/usr/bin/python3
"""Ratio of median doubling times shelled / shell-free for every model reading in one or more
ripen result files, as a markdown table.

    /usr/bin/python3 analysis/readings_table.py RESULTS.h5 [MORE.h5 ...] [-o table.md]

A reading is everything in an ensemble's model except the shell: the readings of docs/model.md
(energy_form, move_set, ...), the parameters, the lattice, the initial core and the doubling
criterion. Each shelled ensemble (shell_thickness > 0) is paired with the shell-free ensemble of
the same file and the same reading, so sweeps (`name@key=value,...`) over either kind pair up
point by point. Errors: one line "readings_table: ..." on stderr, exit status 2.
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli  # noqa: E402
import ripen_results as rr  # noqa: E402

MATCH_KEYS = rr.READING_KEYS + rr.PARAMETER_KEYS + ("lx", "ly", "lz", "core_sites_requested",
                                                    "doubling_criterion")


def reading_key(ensemble):
    return tuple(ensemble.attrs.get(k) for k in MATCH_KEYS)


def sweep_point(name):
    """The `key=value,...` part of a swept ensemble's name ("" if not swept)."""
    return name.split("@", 1)[1] if "@" in name else ""


def partner(shelled, free):
    """The shell-free ensemble with the same reading; among several, the one from the same sweep
    point; None if there is no unique one."""
    same = [e for e in free if reading_key(e) == reading_key(shelled)]
    if len(same) > 1:
        same = [e for e in same if sweep_point(e.name) == sweep_point(shelled.name)]
    return same[0] if len(same) == 1 else None


def file_rows(path):
    """(file, shelled summary, shell-free summary or None) for every shelled ensemble of a file."""
    with cli.reading(path), rr.open_results(path) as f:
        ensembles = [rr.read_ensemble(f, name) for name in rr.ensemble_names(f)]
        shelled = [e for e in ensembles if e.shell_thickness > 0]
        free = [e for e in ensembles if e.shell_thickness == 0]
        rows = []
        for e in shelled:
            match = partner(e, free)
            rows.append((path, rr.summarise(e), rr.summarise(match) if match else None))
    return rows


def median_text(s):
    median = f"> {s.horizon:,.0f}" if math.isinf(s.median) else f"{s.median:.0f}"
    return f"{median} ({s.replicas} replicas, {s.censored} censored)"


def ratio_text(shelled, free):
    """The ratio with its 95% CI, or the bound a median not reached allows ("< 0.72")."""
    if free is None:
        return "no shell-free ensemble with this reading"
    return rr.bounded_ratio(shelled, free).text()


def varying_parameters(rows):
    """Model parameters (eps, mu) that differ between rows: shown as columns, the rest not."""
    keys = rr.PARAMETER_KEYS + ("lx", "ly", "lz")
    values = {k: {s.ensemble.attrs.get(k) for _, s, _ in rows} for k in keys}
    return [k for k in keys if len(values[k]) > 1]


def table(rows):
    extra = varying_parameters(rows)
    columns = ["file", "shelled ensemble", "shell-free ensemble"] + list(rr.READING_KEYS) + \
        extra + ["criterion", "median tau shelled (MC steps)", "median tau shell-free (MC steps)",
                 "ratio shelled / shell-free [95% CI]"]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for path, s, f in rows:
        attrs = s.ensemble.attrs
        cells = [os.path.basename(path), s.ensemble.name, f.ensemble.name if f else "-"]
        cells += [f"{attrs.get(k):.4g}" if isinstance(attrs.get(k), float) else str(attrs.get(k))
                  for k in rr.READING_KEYS + tuple(extra)]
        cells += [s.ensemble.criterion, median_text(s), median_text(f) if f else "-",
                  ratio_text(s, f)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nMedians: Kaplan-Meier (censored replicas kept); CI: " \
        f"percentile bootstrap over replicas ({rr.BOOTSTRAP_RESAMPLES} resamples, seed " \
        f"{rr.BOOTSTRAP_SEED}); \"> L\" = median not reached by the step limit L, and a " \
        "ratio with such a median is only a bound (\"> x\", \"< x\").\n"


def run(argv):
    parser = cli.Parser(prog="readings_table", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="ripen result files (HDF5)")
    parser.add_argument("-o", "--output", help="write the table here instead of stdout")
    args = parser.parse_args(argv)
    if args.output is not None:
        cli.output_file(args.output)
    rows = [row for path in args.results for row in file_rows(path)]
    if not rows:
        raise cli.Failure("no shelled ensemble (shell_thickness > 0) in " +
                          ", ".join(args.results))
    text = table(rows)
    if args.output is None:
        sys.stdout.write(text)
    else:
        cli.write_file(args.output, text)


def main(argv=None):
    return cli.main("readings_table", run, argv)


if __name__ == "__main__":
    sys.exit(main())

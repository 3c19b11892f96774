#!/usr/bin/env python3
"""report.py -- bench/results/*.txt -> docs/perf/*.md tables and PNG plots (gnuplot).

Usage: report.py RESULTS_DIR OUT_DIR

Every result file holds a "# machine ..." header and "bench=<name> key=value ..." lines.
Lines are grouped by their configuration (the keys listed in CONFIG_KEYS plus every
non-numeric value); each group becomes one table row with the median of every numeric
measure over its runs and the run count. docs/perf/<file>.md gets that table under the
machine line. Plots: thesis (confirmed reports/s and confirm p99 against terminals, queue vs
direct) and e2e_embedded profile are drawn when their lines exist. Nothing here measures;
it only summarises, so a missing file just means that benchmark was not run.
"""
import os
import re
import statistics
import subprocess
import sys

CONFIG_KEYS = {"terminals", "points", "offered_frames_per_s", "offered_reports_per_s",
               "window", "pipeline", "records", "n", "size", "capacity", "frames",
               "backend", "case", "batch", "meters", "rate", "procs", "phase", "sync", "by", "what", "dso",
               "coalesce", "conns", "inflight", "fronts"}
DROP_KEYS = {"run"}
NUM = re.compile(r"^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?%?$")


def parse(path):
    machine, rows = "", []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if line.startswith("# machine"):
            machine = line[2:]
        elif line.startswith("bench="):
            kv = {}
            for tok in line.split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    kv[k] = v
            rows.append(kv)
    return machine, rows


def group(rows):
    groups, order = {}, []
    for r in rows:
        key = tuple(sorted((k, v) for k, v in r.items()
                           if k in CONFIG_KEYS or k == "bench" or not NUM.match(v)))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    out = []
    for key in order:
        g = groups[key]
        med = dict(key)
        for k in g[0]:
            if k in med:
                continue
            vals = [float(r[k].rstrip("%")) for r in g if k in r and NUM.match(r[k])]
            if vals:
                m = statistics.median(vals)
                med[k] = ("%.0f" % m) if abs(m) >= 100 else ("%.2f" % m).rstrip("0").rstrip(".")
        med["runs"] = str(len(g))
        out.append(med)
    return out


def table(rows):
    cols = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(r.get(k, "") for k in cols) + " |")
    return "\n".join(lines)


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print("report: gnuplot failed: %s" % e, file=sys.stderr)
        return False


def plot_thesis(rows, outdir, base):
    """thesis: SQLite sweep (one front); thesis_pg: PostgreSQL sweep up to 100,000 terminals
    (several fronts), with the offered load and the sustained rate."""
    pts, offered = {}, {}
    col = "sustained_reports_per_s" if base == "thesis_pg" else "reports_per_s"
    for r in rows:
        if r.get("bench") != "thesis" or "terminals" not in r:
            continue
        be = r.get("backend", "sqlite")
        label = ("%s, PostgreSQL" % r.get("pipeline", "?") if be == "postgres"
                 else "%s, sqlite %s" % (r.get("pipeline", "?"), r.get("sync", "?")))
        pts.setdefault(label, []).append(
            (int(r["terminals"]), float(r.get(col, 0)),
             float(r.get("confirm_p99_ms", 0)), float(r.get("confirm_p50_ms", 0))))
        offered[int(r["terminals"])] = float(r.get("offered_reports_per_s", 0))
    if not pts:
        return
    data = {}
    for p, v in pts.items():
        fn = os.path.join(outdir, "%s_%s.dat" % (base, re.sub(r"[^a-z]+", "_", p.lower())))
        with open(fn, "w") as f:
            for t, rps, p99, p50 in sorted(v):
                f.write("%d %.0f %.1f %.1f\n" % (t, rps, p99, p50))
        data[p] = fn
    xr = "[700:150000]" if base == "thesis_pg" else "[700:25000]"
    off_fn = os.path.join(outdir, "%s_offered.dat" % base)
    with open(off_fn, "w") as f:
        for t in sorted(offered):
            f.write("%d %.0f\n" % (t, offered[t]))
    for what, c, ylab, log in (("throughput", 2, "confirmed reports/s", ""),
                               ("latency", 3, "confirm latency p99 (ms)", "set logscale y\n")):
        png = os.path.join(outdir, "%s_%s.png" % (base, what))
        plots = ", ".join("'%s' using 1:%d with linespoints lw 2 title '%s'" % (fn, c, p)
                          for p, fn in sorted(data.items()))
        if base == "thesis_pg" and what == "throughput":
            plots += ", '%s' using 1:2 with lines dt 2 lw 2 lc rgb 'black' title 'offered'" % off_fn
            ylab = "confirmed reports/s while the load runs"
            log = "set logscale y\n"
        gnuplot("set terminal png size 800,480\nset output '%s'\nset logscale x\n%s"
                "set xrange %s\nset xlabel 'simulated terminals'\nset ylabel '%s'\n"
                "set key top left\nset grid\nplot %s\n" % (png, log, xr, ylab, plots))
    for fn in list(data.values()) + [off_fn]:
        os.unlink(fn)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".txt"):
            continue
        machine, rows = parse(os.path.join(src, name))
        if not rows:
            continue
        base = name[:-4]
        med = group(rows)
        with open(os.path.join(out, base + ".md"), "w") as f:
            f.write("<!-- generated by scripts/bench.sh (bench/e2e/report.py); do not edit -->\n")
            f.write("`%s`\n\nMedian of the runs of each configuration (`runs` = how many):\n\n"
                    % machine)
            for b in dict.fromkeys(r["bench"] for r in med):
                f.write("\n" + table([r for r in med if r["bench"] == b]) + "\n")
        if base in ("thesis", "thesis_pg"):
            plot_thesis(med, out, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())

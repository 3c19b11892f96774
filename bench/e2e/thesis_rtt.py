#!/usr/bin/env python3
"""thesis_rtt.py -- the thesis comparison against the database's round trip (thesis.sh -R):
bench=thesis lines -> a Markdown table (stdout) and PNG plots.

Usage: thesis_rtt.py OUT_DIR RESULT_FILE...   (a .md file: report.py's table of medians, e.g.
                                               docs/perf/thesis_pg.md, the loopback sweep)

Lines are grouped by (link/RTT, --set, pipeline, terminals); each group gives the median
sustained confirmed reports/s (% of offered) over its runs, and the runs themselves. Per RTT,
"the load where direct saturates" is the lowest load whose direct median is below 90 % of
the offered rate (the definition fixed before measuring, docs/PERFORMANCE.md), and the
ratio is the queue's median there over direct's. Plots: OUT_DIR/thesis_rtt_throughput.png
(sustained rate against terminals, one line per pipeline and RTT, offered dashed) and
OUT_DIR/thesis_rtt_ratio.png (queue / direct against the added round trip: at the load where
direct saturates, and best median over best median of the sweep).
Nothing here measures; it only summarises.
"""
import os
import statistics
import subprocess
import sys


def md_rows(path):
    """Rows of a report.py table (docs/perf/thesis_pg.md: medians of `runs` runs, loopback)."""
    head, out = None, []
    for line in open(path, errors="replace"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| backend"):
            head = cells
        elif head and line.startswith("| postgres") and len(cells) == len(head):
            r = dict(zip(head, cells))
            r["link"], r["median_of"] = "loopback", r.get("runs", "?")
            out.append(r)
    return out


def rows_of(paths):
    out = []
    for p in paths:
        if p.endswith(".md"):
            out += md_rows(p)
            continue
        for line in open(p, errors="replace"):
            if line.startswith("bench=thesis ") and "terminals=" in line:
                out.append(dict(t.split("=", 1) for t in line.split() if "=" in t))
    return out


def rtt_of(r):
    return float(r["rtt_ms"]) if r.get("link") == "proxy" else -1.0  # -1: loopback, no relay


def label(rtt):
    return "loopback" if rtt < 0 else "RTT %g ms" % rtt


def groups(rows):
    g = {}
    for r in rows:
        key = (rtt_of(r), r.get("set", ""), r["pipeline"], int(r["terminals"]))
        g.setdefault(key, []).append(r)
    return g


def table(g):
    print("| link | set | pipeline | terminals (offered) | sustained median (% offered) | runs |")
    print("|---|---|---|---|---|---|")
    med = {}
    for key in sorted(g):
        rs = g[key]
        v = [float(r["sustained_reports_per_s"]) for r in rs]
        off = float(rs[0]["offered_reports_per_s"])
        m = statistics.median(v)
        med[key] = (m, off)
        runs = ", ".join("%.0f (%.1f %%)" % (x, 100 * x / off) for x in v)
        if "median_of" in rs[0]:
            runs = "median of %s (docs/perf/thesis_pg.md)" % rs[0]["median_of"]
        print("| %s | %s | %s | %s (%.0f) | %.0f (%.1f %%) | %s |"
              % (label(key[0]), key[1] or "-", key[2], key[3], off, m, 100 * m / off, runs))
    return med


def sat_ratio(med, rtt, st, p="queue"):
    """(load where direct saturates or None, p / direct there, best p / best direct)."""
    loads = sorted(k[3] for k in med if k[:3] == (rtt, st, "direct"))
    sat = next((t for t in loads if med[(rtt, st, "direct", t)][0]
                < 0.9 * med[(rtt, st, "direct", t)][1]), None)
    best = {q: max((m for k, (m, _) in med.items() if k[:3] == (rtt, st, q)), default=0)
            for q in (p, "direct")}
    r_sat = (med[(rtt, st, p, sat)][0] / med[(rtt, st, "direct", sat)][0]
             if sat and (rtt, st, p, sat) in med and med[(rtt, st, "direct", sat)][0] > 0 else 0)
    r_cap = best[p] / best["direct"] if best["direct"] else 0
    return sat, r_sat, r_cap


def verdicts(med):
    print()
    for rtt, st in sorted({(k[0], k[1]) for k in med}):
        loads = sorted(k[3] for k in med if k[:3] == (rtt, st, "direct"))
        sat = next((t for t in loads if med[(rtt, st, "direct", t)][0]
                    < 0.9 * med[(rtt, st, "direct", t)][1]), None)
        cap = {p: max((m for k, (m, _) in med.items() if k[:3] == (rtt, st, p)), default=0)
               for p in ("queue", "kafka", "direct")}
        line = "%s%s: direct saturates at %s" % (label(rtt), " " + st if st else "",
                                                 sat if sat else "no load of the sweep")
        for p in ("queue", "kafka"):
            if sat and (rtt, st, p, sat) in med and med[(rtt, st, "direct", sat)][0] > 0:
                line += "; %s / direct there %.1fx" % (
                    p, med[(rtt, st, p, sat)][0] / med[(rtt, st, "direct", sat)][0])
            if cap[p] and cap["direct"]:
                line += "; capacity %s / direct %.1fx (%.0f / %.0f)" % (
                    p, cap[p] / cap["direct"], cap[p], cap["direct"])
        print("- " + line)


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def plots(med, out):
    os.makedirs(out, exist_ok=True)
    series, offered, files = {}, {}, []
    for (rtt, st, p, t), (m, off) in med.items():
        if st:
            continue  # the plots show the default settings only
        series.setdefault((p, rtt), []).append((t, m))
        offered[t] = off
    parts, colours = [], ["#7b2cbf", "#2a9d8f", "#1d6fd1", "#e76f51", "#6c757d"]
    rtts = sorted({rtt for _, rtt in series})
    for (p, rtt), pts in sorted(series.items()):
        fn = os.path.join(out, "thesis_rtt_%s_%g.dat" % (p, rtt))
        with open(fn, "w") as f:
            f.writelines("%d %.0f\n" % x for x in sorted(pts))
        files.append(fn)
        style = {"direct": "dt 1 pt 7 lw 2", "queue": "dt 2 pt 5 lw 2"}.get(p, "dt 4 pt 9 lw 3")  # colour: RTT
        parts.append("'%s' using 1:2 with linespoints %s ps 1.3 lc rgb '%s' title '%s, %s'"
                     % (fn, style, colours[rtts.index(rtt) % len(colours)], p, label(rtt)))
    fo = os.path.join(out, "thesis_rtt_offered.dat")
    with open(fo, "w") as f:
        f.writelines("%d %.0f\n" % (t, offered[t]) for t in sorted(offered))
    files.append(fo)
    parts.append("'%s' using 1:2 with lines dt 3 lw 1 lc rgb 'black' title 'offered'" % fo)
    gnuplot("set terminal pngcairo size 900,520\nset output '%s'\nset logscale xy\n"
            "set xrange [700:150000]\n"
            "set xlabel 'simulated terminals'\nset ylabel 'confirmed reports/s while the load runs'\n"
            "set key outside right\nset grid\nplot %s\n"
            % (os.path.join(out, "thesis_rtt_throughput.png"), ", ".join(parts)))
    fr = os.path.join(out, "thesis_rtt_ratio.dat")
    with open(fr, "w") as f:
        for rtt in rtts:
            sat, r_sat, r_cap = sat_ratio(med, rtt, "")
            r_k = sat_ratio(med, rtt, "", "kafka")[1]
            if sat:
                f.write("%g %.2f %.2f %s\n" % (max(rtt, 0.0), r_sat, r_cap,
                                               "%.2f" % r_k if r_k else "NaN"))
    files.append(fr)
    gnuplot("set terminal pngcairo size 800,480\nset output '%s'\nset logscale y\n"
            "set xrange [-0.05:1.1]\nset yrange [0.3:30]\n"
            "set xlabel 'added round trip to PostgreSQL (ms; 0 = loopback, no relay)'\n"
            "set ylabel 'queue / direct (sustained reports/s)'\nset key top left\nset grid\n"
            "plot '%s' using 1:2 with linespoints lw 2 pt 7 title 'at the load where direct saturates', "
            "'%s' using 1:3 with linespoints lw 2 dt 2 pt 5 title 'best of each over the sweep', "
            "'%s' using 1:4 with points ps 2 pt 9 title 'Kafka pipeline / direct where direct saturates', "
            "10 with lines lw 1 lc rgb 'red' title 'goal 10x'\n"
            % (os.path.join(out, "thesis_rtt_ratio.png"), fr, fr, fr))
    for fn in files:
        os.unlink(fn)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    med = table(groups(rows_of(sys.argv[2:])))
    verdicts(med)
    plots(med, sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""thread_cpu.py -- where the CPUs went between two moments, per thread (a measurement aid).

  thread_cpu.py snap FILE           record every task of the machine: pid, tid, process and
                                    thread name, nice, on-CPU and run-queue wait time
                                    (/proc/PID/task/TID/schedstat, ns), plus /proc/stat's cpu line
  thread_cpu.py diff A B [PID...]   what happened between snapshots A and B: the machine's
                                    user/nice/system/softirq/idle time, then the tasks that ran,
                                    grouped by process and thread name; PIDs (e.g. the master)
                                    are listed thread by thread

"wait" is the time a task was runnable but not running (on a run queue): a thread starved of
CPU shows a large wait next to a small on-CPU time. A task born between A and B counts from
zero; one that ended between them is missing (its share shows only in the machine's totals).
Used by tests/integ/hostile.sh (HS_CPU=1) around the reconnect storm; docs/RELIABILITY.md
quotes it. Read-only: /proc only, no privileges.
"""
import json
import os
import sys


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def snap(out):
    tasks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        pcomm = (read(f"/proc/{pid}/comm") or "?").strip()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            base = f"/proc/{pid}/task/{tid}"
            ss = read(base + "/schedstat")
            st = read(base + "/stat")
            if not ss or not st:
                continue
            rest = st[st.rfind(")") + 2:].split()
            on_ns, wait_ns = (int(x) for x in ss.split()[:2])
            tasks[tid] = {"pid": int(pid), "pcomm": pcomm, "comm": st[st.find("(") + 1:st.rfind(")")],
                          "nice": int(rest[16]), "on": on_ns, "wait": wait_ns, "start": int(rest[19])}
    cpu = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    with open(out, "w") as f:
        json.dump({"tasks": tasks, "cpu": cpu, "hz": os.sysconf("SC_CLK_TCK")}, f)


def diff(a_path, b_path, detail):
    with open(a_path) as f:
        a = json.load(f)
    with open(b_path) as f:
        b = json.load(f)
    hz = b["hz"]
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    d = [(y - x) * 1000 // hz for x, y in zip(a["cpu"], b["cpu"])]
    wall = sum(d[:8]) / max(1, os.cpu_count())
    print(f"machine over {wall:.0f} ms x {os.cpu_count()} CPUs: " +
          " ".join(f"{n}={v}" for n, v in zip(names, d[:8])) + " (ms)")
    groups = {}
    for tid, t in b["tasks"].items():
        o = a["tasks"].get(tid)
        if o and o["start"] != t["start"]:
            o = None  # a reused tid
        on = (t["on"] - (o["on"] if o else 0)) / 1e6
        wait = (t["wait"] - (o["wait"] if o else 0)) / 1e6
        if on < 0.5 and wait < 0.5:
            continue
        if t["pid"] in detail:
            key = f"{t['pcomm']}[{t['pid']}] {t['comm']}[{tid}] nice {t['nice']}"
        else:
            key = f"{t['pcomm']} (all {t['comm']} threads) nice {t['nice']}"
        g = groups.setdefault(key, [0.0, 0.0, 0])
        g[0] += on
        g[1] += wait
        g[2] += 1
    print(f"{'on-CPU ms':>10} {'wait ms':>9} {'tasks':>5}  process / thread")
    for key, (on, wait, n) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        print(f"{on:10.1f} {wait:9.1f} {n:5d}  {key}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "snap":
        snap(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3], {int(p) for p in sys.argv[4:]})
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Speed-up of data-parallel training on N machines, from measured inputs
(docs/DISTRIBUTED.md explains the model and where each input comes from).

Each machine trains on its own batches and keeps its batch size, so N
machines process N times the tokens of one per step; a step costs the
compute of one machine plus the gradient allreduce that is not hidden:

    t_allreduce(N) = 2 (N-1)/N * G / (eta * link)  +  2 (N-1) * alpha * k
    speed-up(N)    = N * t_compute / (t_compute + exposed)

(ring allreduce: each link carries 2 (N-1)/N of the gradient's G bytes, in
2 (N-1) steps of latency alpha for each of the k allreduce calls a step
makes). "exposed" is the whole allreduce when it starts after the backward
pass (what `transformer train` does today), and what is left of it after the
backward pass (2/3 of the compute) when it overlaps with that pass, the best
that overlapping could do.

    bench/scaling_model.py --model small:1620:7585600:2 --model base:6900:63119496:16
        (name : compute ms per step : parameters : allreduce calls per step)
"""

import argparse


def allreduce_seconds(n, gradient_bytes, link_bytes_per_s, alpha_s, calls):
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * gradient_bytes / link_bytes_per_s + 2 * (n - 1) * alpha_s * calls


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", action="append", required=True,
                   help="NAME:COMPUTE_MS:PARAMETERS:CALLS, e.g. small:1620:7585600:2")
    p.add_argument("--machines", default="2,4,8,16,64")
    p.add_argument("--networks-gbps", default="10,25,100")
    p.add_argument("--efficiency", type=float, default=0.8,
                   help="share of the line rate one TCP allreduce reaches")
    p.add_argument("--alpha-us", type=float, default=30.0, help="latency of one message, microseconds")
    p.add_argument("--backward-share", type=float, default=2 / 3,
                   help="share of a step's compute that the allreduce could overlap with")
    a = p.parse_args()
    machines = [int(x) for x in a.machines.split(",")]
    networks = [float(x) for x in a.networks_gbps.split(",")]
    print(f"ring allreduce, {a.efficiency:.0%} of the line rate, {a.alpha_us:g} us per message; "
          f"speed-up in tokens/s against one machine (after the slash: with the allreduce overlapped "
          f"with the backward pass, an upper bound)\n")
    for spec in a.model:
        name, compute_ms, params, calls = spec.split(":")
        t_c, g, k = float(compute_ms) / 1e3, 4.0 * int(params), int(calls)
        print(f"**{name}**: {int(params) / 1e6:.1f} M parameters ({g / 2**20:.0f} MiB of fp32 gradient, "
              f"{k} allreduce call(s) per step), {t_c * 1e3:.0f} ms of compute per step\n")
        header = "| machines | " + " | ".join(f"{n:g} Gb/s: allreduce ms, speed-up" for n in networks) + " |"
        print(header)
        print("|" + "---|" * (len(networks) + 1))
        for n in machines:
            cells = []
            for gbps in networks:
                t_ar = allreduce_seconds(n, g, a.efficiency * gbps * 1e9 / 8, a.alpha_us * 1e-6, k)
                plain = n * t_c / (t_c + t_ar)
                hidden = n * t_c / (t_c + max(0.0, t_ar - a.backward_share * t_c))
                cells.append(f"{t_ar * 1e3:.0f} ms, {plain:.1f}× / {hidden:.1f}×")
            print(f"| {n} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()

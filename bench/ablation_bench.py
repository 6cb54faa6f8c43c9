"""What each training change gives on a short run, side by side: `verbo train` variants from the
same start, each in its own process, one after the other.

    verbo bench ablation [-- --warm-start weights/gru --epoch-chars 1000000 --epochs 1
                             --only base,dropout]

Every variant trains `--epochs` epochs of `--epoch-chars` characters of the Bible's training
chapters (warm-started from `--warm-start`, or from scratch with `--warm-start none`) and is scored
on the whole validation split as `verbo train` scores it (the float16-rounded weights through the
serving kernel). The table gives the validation bits/char after each epoch, the training speed and
the gain against the first variant. Variants are written as `verbo train` flags, so any row can be
rerun for longer by hand.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# name -> `verbo train` flags on top of the common ones
VARIANTS = {
    "base": [],
    "lr3e-4": ["--lr", "3e-4"],
    "dropout": ["--lr", "3e-4", "--dropout", "0.3", "--embedding-dropout", "0.1"],
    "recurrent": ["--lr", "3e-4", "--dropout", "0.3", "--embedding-dropout", "0.1",
                  "--recurrent-dropout", "0.1"],
    "decay": ["--lr", "3e-4", "--dropout", "0.3", "--embedding-dropout", "0.1",
              "--weight-decay", "0.1"],
    "ema": ["--lr", "3e-4", "--dropout", "0.3", "--embedding-dropout", "0.1", "--ema", "0.99"],
    "teacher": ["--lr", "3e-4", "--teacher", "weights/mezcla", "--teacher-weight", "0.5"],
}
# the recipe the shipped models were fine-tuned with, whatever `verbo train`'s defaults become
COMMON = ["--cell", "gru", "--bf16", "--stateful", "--batch-size", "256", "--dropout", "0.1",
          "--embedding-dropout", "0", "--lr", "1e-4", "--min-delta", "0", "--patience", "99"]


def run_variant(name: str, flags: list[str], args, root: Path) -> dict:
    warm = [] if args.warm_start == "none" else ["--warm-start", args.warm_start]
    command = [sys.executable, "-m", "verbo", "train", *COMMON, *warm, *flags,
               "--epochs", str(args.epochs), "--epoch-chars", str(args.epoch_chars),
               "--out", str(root / name / "out"), "--checkpoints", str(root / name / "ck"),
               "--fresh", "--force-export"]
    print(f"· {name}: verbo train {' '.join(command[4:])}", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{name} falló:\n{done.stderr[-3000:]}")
    history = json.loads((root / name / "ck" / "state.json").read_text())["history"]
    return {"name": name, "flags": " ".join(flags) or "(la receta)",
            "val": [h["val_bits_per_char"] for h in history],
            "speed": sum(h["characters"] for h in history) / sum(h["seconds"] for h in history)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="verbo bench ablation", description=__doc__.split("\n")[0])
    parser.add_argument("--warm-start", default="weights/gru",
                        help="carpeta de partida, o «none» para empezar de cero")
    parser.add_argument("--epoch-chars", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", default=",".join(VARIANTS),
                        help="variantes separadas por comas: " + ", ".join(VARIANTS))
    args = parser.parse_args()
    names = args.only.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"variantes desconocidas: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="verbo-ablation-") as tmp:
        rows = [run_variant(n, VARIANTS[n], args, Path(tmp)) for n in names]
    start = "de cero" if args.warm_start == "none" else f"desde {args.warm_start}"
    print(f"\n{args.epochs} × {args.epoch_chars:,} caracteres {start}, GRU-1024, 256 flujos, "
          f"bf16; común: {' '.join(COMMON)}\n")
    print("| variante | opciones | validación por época (bits/car.) | frente a la primera | car./s |")
    print("|---|---|---|---|---|")
    first = rows[0]["val"][-1]
    for r in rows:
        curve = " → ".join(f"{v:.4f}" for v in r["val"])
        print(f"| {r['name']} | `{r['flags']}` | {curve} | {r['val'][-1] - first:+.4f} | "
              f"{r['speed']:,.0f} |")


if __name__ == "__main__":
    main()

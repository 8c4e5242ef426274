"""bench/images.md: the app's image run against a plain timm fine-tuning loop, side by side in one process, on
the same pictures, model, picture size, batch, epochs and data-loader workers.

    python bench/images.py                                    # CPU: 96 px, 2 epochs, batch 32, the bundled Lite0
    python bench/images.py --size 224 --epochs 3 --workers 8  # a GPU machine (bench/gpu.sh)

The pictures are 64 x 64 patches cut from ten of scikit-image's sample photos (CC0; nothing is downloaded), one
category per photo, written to a temporary folder as train/, val/ and test/ category folders. The app trains on
train/ and checks itself on val/ (choosing its best checkpoint there), as a person would give it an evaluation
folder; both paths are then scored on test/, which neither saw. The app is a real run, submitted and executed
in this process as `tunewright-engine run` executes it, with only model, data, size, batch, epochs (and workers,
when given) set: learning rate, schedule, head warm-up, class weights, precision and the rest are its own
decisions. The plain loop then takes the app's decided learning rate, weight decay, warm-up share and workers.

Figures for each path:
- images/s: training pictures per second of training time (the app's checks on val/ taken out; the data
  loader's start-up and every step's waiting for pictures kept in);
- data share: the share of training time spent waiting for the next batch (the app's own `data_wait_share`
  rows; the plain loop's time inside `next(loader)`);
- test accuracy, and the wall time of the whole run, checks and scoring included.
With --rounds 2 or more the order alternates (app first, then plain first), so both see the same load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import engine  # noqa: E402,F401  (installs the torchvision import hook before timm is imported)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from engine import store  # noqa: E402
from engine.config import EvaluateConfig, from_dict  # noqa: E402
from engine.job import run_job  # noqa: E402
from engine.jobs import submit  # noqa: E402
from engine.recipes.evaluate import evaluate_in_process  # noqa: E402

DEMO = "demo:efficientnet-lite0"
#: scikit-image's sample photos (all CC0, all shipped with the package): one category each.
PHOTOS = ("brick", "grass", "gravel", "moon", "camera", "immunohistochemistry", "astronaut", "coffee", "retina",
          "hubble_deep_field")
SIDE = 64  # patches do not overlap, so no test patch shares pixels with a training one


def photo(name: str, photos: Path | None):
    """One sample photo as an RGB or gray array: from `photos` (PNG files saved by --save-photos, for a machine
    without scikit-image) when given, else from scikit-image."""
    import numpy as np
    from PIL import Image

    if photos is not None and (photos / f"{name}.png").exists():
        return np.asarray(Image.open(photos / f"{name}.png"))
    from skimage import data

    picture = getattr(data, name)()
    return picture[..., :3] if picture.ndim == 3 else picture


def cut_photos(root: Path, per_category: int = 64, stride: int = SIDE, photos: Path | None = None) -> Path:
    """train/ val/ test/ folders of patches: of each photo's patches, every 4th goes to test/, every 8th (of the
    rest) to val/. A stride under SIDE cuts overlapping patches: more pictures for a speed measurement, but
    test patches then share pixels with training ones, so their accuracy says less."""
    from PIL import Image

    for name in PHOTOS:
        picture = photo(name, photos)
        number = 0
        for top in range(0, picture.shape[0] - SIDE + 1, stride):
            for left in range(0, picture.shape[1] - SIDE + 1, stride):
                if number >= per_category:
                    break
                split = "test" if number % 4 == 3 else "val" if number % 8 == 1 else "train"
                folder = root / split / name
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(picture[top : top + SIDE, left : left + SIDE]).save(folder / f"{name}_{number:04d}.png")
                number += 1
    return root


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---------------------------------------------------------------- the app


def app_run(pictures: Path, home: Path, args) -> dict:
    values = {"kind": "images", "model": args.model, "data": str(pictures / "train"), "eval_data": str(pictures / "val"),
              "image_size": args.size, "epochs": args.epochs, "batch_size": args.batch, "early_stopping_patience": 0,
              "seed": args.seed}
    if args.workers is not None:
        values["workers"] = args.workers
    os.environ["TUNEWRIGHT_HOME"] = str(home)  # as the window sets it for the engine processes it starts
    load = load_average()
    started = time.monotonic()
    db = store.open_db(store.database_path(home))
    run_id = submit(db, from_dict(values), home=home)
    run_job(run_id, home)
    trained = time.monotonic() - started
    run = store.get_run(db, run_id)
    if run["status"] != "completed":
        raise SystemExit(f"the app's run ended {run['status']}: {run['error']}\n{run['error_detail']}")
    scored = evaluate_in_process(db, EvaluateConfig(model=str(run_id), data=str(pictures / "test"), task="images"), home=home)
    if "error" in scored:
        raise SystemExit(f"scoring the app's model failed: {scored['error']}")
    timing = app_timing(db, run_id)
    config = run["config"]
    return {
        "path": "app", "load_before": load, "load_after": load_average(), "settings": config,
        "images_per_second": timing["images"] / timing["train_seconds"], "train_seconds": timing["train_seconds"],
        "check_seconds": timing["check_seconds"], "data_share": timing["data_share"], "steps": timing["steps"],
        "test_accuracy": scored["metrics"]["eval_accuracy"], "test_macro_f1": scored["metrics"]["eval_macro_f1"],
        "wall_seconds": time.monotonic() - started, "train_and_checks_seconds": trained,
        "events": [e["message"] for e in store.events(db, run_id) if e["code"].startswith(("plan.", "images."))],
    }


def app_timing(db, run_id: int) -> dict:
    """Training time from the run's own rows: from 'run.started' to the last step's row, less each check on
    val/ (from its step's training row, written just before the check, to the check's row, written after it)."""
    rows = db.execute("SELECT step, name, value, time FROM metrics WHERE run_id = ?", [run_id]).fetchall()
    trained = {step: t for step, name, _, t in rows if name == "train_loss"}
    checked = {step: (value, t) for step, name, value, t in rows if name == "data_wait_share"}
    started = next(e["time"] for e in store.events(db, run_id) if e["code"] == "run.started")
    last = max(trained)
    checks = sum(t - trained[step] for step, (_, t) in checked.items() if step < last)
    train_seconds = trained[last] - started - checks
    # each check's data share covers the training since the check before it: weigh them by that time
    waited, previous = 0.0, started
    for step, (share, t) in sorted(checked.items()):
        waited += share * (trained[step] - previous)
        previous = t
    config = store.get_run(db, run_id)["config"]
    images = sum(_step_sizes(db, run_id, config, last))
    return {"train_seconds": train_seconds, "check_seconds": checks, "data_share": waited / max(train_seconds, 1e-9),
            "steps": last, "images": images}


def _step_sizes(db, run_id: int, config: dict, steps: int) -> list[int]:
    """The pictures in each of the run's steps: its training pictures (exact copies and unreadable ones left
    out, as the run leaves them out) in batches, the last of each epoch short."""
    from engine.images.checks import look_at_all, usable
    from engine.images.collect import read_image_set

    rows = len(usable(look_at_all([e for e in read_image_set(config["data"]).examples if e.labels])))
    batch = config["batch_size"]
    per_epoch = [batch] * (rows // batch) + ([rows % batch] if rows % batch else [])
    return (per_epoch * (steps // len(per_epoch) + 1))[:steps]


# ---------------------------------------------------------------- the plain loop


def plain_run(pictures: Path, settings: dict, args) -> dict:
    """A timm fine-tuning loop as a competent engineer writes it: ImageFolder, timm's own transforms for the
    model, a shuffled DataLoader, AdamW, linear warm-up then cosine, bf16 autocast on a GPU."""
    from torch.utils.data import DataLoader
    from torchvision.datasets import ImageFolder

    from engine.images import lite0
    from engine.images.stack import timm

    load = load_average()
    started = time.monotonic()
    torch.manual_seed(settings["seed"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_set = ImageFolder(str(pictures / "train"))
    if args.model == DEMO:
        model = lite0.imagenet_model()
    else:
        model = timm().create_model(args.model.removeprefix("timm:"), pretrained=False)
    model.reset_classifier(len(train_set.classes))
    model.to(device).train()
    data_config = timm().data.resolve_data_config({}, model=model)
    data_config["input_size"] = (3, settings["image_size"], settings["image_size"])
    train_set.transform = timm().data.create_transform(**data_config, is_training=True)
    test_set = ImageFolder(str(pictures / "test"), timm().data.create_transform(**data_config))
    workers, cuda = settings["workers"], device.type == "cuda"
    loader = DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True, num_workers=workers,
                        pin_memory=cuda, persistent_workers=workers > 0, drop_last=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"], weight_decay=settings["weight_decay"],
                                  fused=cuda)
    steps = math.ceil(settings["epochs"] * len(loader))
    warmup = round(settings["warmup_fraction"] * steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: s / max(1, warmup) if s < warmup else
                                                  0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup))))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda and torch.cuda.is_bf16_supported())

    waited, step, images = 0.0, 0, 0
    train_started = time.monotonic()
    while step < steps:
        asked = time.monotonic()
        for pixels, targets in loader:
            waited += time.monotonic() - asked
            pixels, targets = pixels.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            with autocast:
                loss = F.cross_entropy(model(pixels), targets)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step, images = step + 1, images + len(targets)
            if step == steps:
                break
            asked = time.monotonic()
    if cuda:
        torch.cuda.synchronize()
    train_seconds = time.monotonic() - train_started

    model.eval()
    right = 0
    with torch.no_grad(), autocast:
        for pixels, targets in DataLoader(test_set, batch_size=64, num_workers=workers):
            right += int((model(pixels.to(device)).argmax(-1).cpu() == targets).sum())
    return {
        "path": "plain timm loop", "load_before": load, "load_after": load_average(), "images_per_second": images / train_seconds,
        "train_seconds": train_seconds, "check_seconds": 0.0, "data_share": waited / train_seconds, "steps": step,
        "test_accuracy": right / len(test_set), "wall_seconds": time.monotonic() - started,
    }


def probe_accuracy(pictures: Path, args) -> float:
    """The frozen-features baseline the fine-tuned model must beat: the advisor's linear probe (logistic
    regression, engine/advisor/probes.py) on the bundled model's features of train/ (no training of the model,
    pictures prepared as the app shows them for checking), scored on test/."""
    from engine.advisor.probes import Targets, linear_predict, standardized
    from engine.images import lite0
    from engine.images.batches import Pictures, eval_batches
    from engine.images.collect import read_image_set
    from engine.images.model import Preparation

    model = lite0.imagenet_model().eval()
    prepare = Preparation(size=args.size).transform()

    def features(split: str):
        examples = read_image_set(pictures / split).examples
        found = []
        with torch.no_grad():
            for pixels, _, _ in eval_batches(Pictures(examples, torch.zeros(len(examples), dtype=torch.long), prepare), 64, 0):
                found.append(model.forward_head(model.forward_features(pixels), pre_logits=True))
        return torch.cat(found).numpy(), [e.labels for e in examples]

    (train, train_labels), (test, test_labels) = features("train"), features("test")
    names = sorted({label for labels in train_labels for label in labels})
    train, test = standardized(train, test)
    predicted, _ = linear_predict(train, Targets.of(train_labels, names, False), test)
    truth = Targets.of(test_labels, names, False).single
    return float((predicted == truth).mean())


# ---------------------------------------------------------------- the table


def table(rows: list[dict]) -> str:
    lines = ["| round | path | images/s | data share of step time | test accuracy | training s | checks s | wall s | load before -> after |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| {row['round']} | {row['path']} | {row['images_per_second']:.1f} | {row['data_share']:.1%} | "
                     f"{row['test_accuracy']:.1%} | {row['train_seconds']:.1f} | {row['check_seconds']:.1f} | "
                     f"{row['wall_seconds']:.1f} | {row['load_before']} -> {row['load_after']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEMO, help="demo:efficientnet-lite0, or timm:NAME (tests: timm:test_efficientnet)")
    parser.add_argument("--size", type=int, default=96, help="picture size in pixels (the model's own is 224)")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="data-loader workers (default: the app decides)")
    parser.add_argument("--per-category", type=int, default=64, help="patches cut from each photo, at most")
    parser.add_argument("--stride", type=int, default=SIDE, help="pixels between patches (under 64: overlapping)")
    parser.add_argument("--photos", default="", help="read the sample photos from this folder (see --save-photos)")
    parser.add_argument("--save-photos", default="", help="write the sample photos to this folder as PNG, and stop")
    parser.add_argument("--rounds", type=int, default=1, help="app and plain loop this many times, order alternating")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="", help="append each path's figures as a JSON line here")
    parser.add_argument("--probe", action="store_true", help="also score a linear probe on the bundled model's frozen features")
    parser.add_argument("--work", default="", help="folder for the pictures and the app's home (default: a new temporary one)")
    args = parser.parse_args(argv)

    if args.save_photos:
        from PIL import Image

        Path(args.save_photos).mkdir(parents=True, exist_ok=True)
        for name in PHOTOS:
            Image.fromarray(photo(name, None)).save(Path(args.save_photos) / f"{name}.png")
        return []
    work = Path(args.work or tempfile.mkdtemp(prefix="images-bench-"))
    pictures = cut_photos(work / "pictures", args.per_category, args.stride, Path(args.photos) if args.photos else None)
    counts = {split: sum(1 for _ in (pictures / split).rglob("*.png")) for split in ("train", "val", "test")}
    print(f"pictures: {counts}, {len(PHOTOS)} categories; torch threads {torch.get_num_threads()}; "
          f"device {'cuda: ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}", flush=True)
    rows, settings = [], None
    for number in range(args.rounds):
        order = ("app", "plain") if number % 2 == 0 else ("plain", "app")
        for path in order:
            if path == "plain" and settings is None:
                continue  # the plain loop takes the app's decisions: the very first round runs the app first
            if path == "app":
                # a home given keeps what the engine proved there (on a GPU, its fast paths' self-test)
                home = Path(os.environ.get("TUNEWRIGHT_HOME") or work / "home")
                home.mkdir(parents=True, exist_ok=True)
                row = app_run(pictures, home, args)
                settings = row.pop("settings")
            else:
                row = plain_run(pictures, settings, args)
            row |= {"round": number + 1, "model": args.model, "size": args.size, "epochs": args.epochs, "batch": args.batch,
                    "workers": settings["workers"], "learning_rate": settings["learning_rate"], "pictures": counts}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "events"}), flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
    print("\n".join(rows[0]["events"]))
    print(table(rows))
    if args.probe and args.model == DEMO:
        load, accuracy = load_average(), probe_accuracy(pictures, args)
        print(f"linear probe on the frozen model's features: test accuracy {accuracy:.1%} (load {load})")
        if args.out:
            with open(args.out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"path": "linear probe", "test_accuracy": accuracy, "size": args.size}) + "\n")
    return rows


if __name__ == "__main__":
    main()

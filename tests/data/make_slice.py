"""Cut the small real CIFAR-10 slice used by the end-to-end tests.

    python tests/data/make_slice.py /work/shared/data/cifar10-jpeg.zip tests/data/cifar10-slice.zip

Takes the first 100 files per class of train and the first 30 per class of test
(sorted by name) from a zip laid out as `<root>/{train,test}/<class>/<file>`, and
copies their bytes unchanged (no re-encoding) into a new zip with the same layout.
The output is byte-for-byte reproducible: fixed order, fixed timestamps, stored
without compression (JPEG bytes do not compress).
"""

from __future__ import annotations

import argparse
import zipfile
from collections import defaultdict
from pathlib import Path

PER_CLASS = {"train": 100, "test": 30}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip timestamps: fixed, so reruns give identical bytes


def select(names: list[str]) -> list[str]:
    """The first PER_CLASS[split] names per (root, split, class), sorted."""
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for name in names:
        parts = name.split("/")
        if len(parts) >= 3 and parts[-3] in PER_CLASS and not name.endswith("/"):
            groups["/".join(parts[:-3]), parts[-3], parts[-2]].append(name)
    chosen: list[str] = []
    for (_, split, _), files in sorted(groups.items()):
        chosen += sorted(files)[: PER_CLASS[split]]
    return chosen


def make_slice(source: Path, output: Path) -> int:
    """Write the slice of `source` to `output`; returns the number of files."""
    with zipfile.ZipFile(source) as src:
        chosen = select(src.namelist())
        output.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_STORED) as dst:
            for name in chosen:
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.external_attr = 0o644 << 16  # -rw-r--r--
                dst.writestr(info, src.read(name))
    return len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the full CIFAR-10 image-folder zip")
    parser.add_argument("output", type=Path, help="where to write the slice zip")
    args = parser.parse_args()
    n = make_slice(args.source, args.output)
    print(f"wrote {n} files to {args.output}")


if __name__ == "__main__":
    main()

"""Run inside a container: bytes per distribution as Python itself sees them.

For each distribution importlib.metadata finds, the regular files its RECORD
(or installed-files.txt) lists, the `__pycache__/*.pyc` of each listed `.py`,
and the files of its metadata folder. Prints JSON {"<site dir>|<name>": bytes}.
Distributions without a file list (Debian egg-info) are left out: there is
no truth to compare an estimate with.
"""

import glob
import importlib.metadata as metadata
import json
import os
import re
import sys


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


result = {}
for dist in metadata.distributions(path=sys.path):
    files = dist.files
    if files is None:
        continue
    meta_dir = os.path.normpath(str(dist._path))
    site = os.path.dirname(meta_dir)
    seen = set()
    paths = [os.path.normpath(str(dist.locate_file(f))) for f in files]
    for name in os.listdir(meta_dir):
        paths.append(os.path.join(meta_dir, name))
    for path in list(paths):
        if path.endswith(".py"):
            folder, base = os.path.split(path)
            paths += glob.glob(os.path.join(folder, "__pycache__", glob.escape(base[:-3]) + ".*.pyc"))
    total = 0
    for path in paths:
        if path in seen or os.path.islink(path) or not os.path.isfile(path):
            continue
        seen.add(path)
        total += os.path.getsize(path)
    key = f"{site}|{canonical(dist.metadata['Name'])}"
    if key not in result:
        result[key] = total
print(json.dumps(result))

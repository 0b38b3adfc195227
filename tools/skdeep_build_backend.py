"""In-tree PEP 517 backend: setuptools' own, plus PEP 660 editable installs.

setuptools < 64, which Pythran needs below Python 3.12, has no ``build_editable``
hook, and pip's fallback to ``setup.py develop`` breaks on Python 3.11 venvs.  An
editable install here compiles the kernels in place and ships a wheel holding a
single ``.pth`` line that puts the source tree on ``sys.path``.
"""
import base64
import email.parser
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (the regular hooks)


def get_requires_for_build_editable(config_settings=None):
    return _setuptools.get_requires_for_build_wheel(config_settings)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    root = os.path.abspath(os.getcwd())
    subprocess.check_call([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=root)

    with tempfile.TemporaryDirectory() as tmp:
        if metadata_directory is None:
            dist_info = os.path.join(tmp, prepare_metadata_for_build_editable(tmp, config_settings))
        elif metadata_directory.rstrip(os.sep).endswith(".dist-info"):
            dist_info = metadata_directory
        else:  # pip passes the directory that holds the .dist-info
            (found,) = [f for f in os.listdir(metadata_directory) if f.endswith(".dist-info")]
            dist_info = os.path.join(metadata_directory, found)
        # pip may rename the directory it passes, so read name and version inside it
        with open(os.path.join(dist_info, "METADATA"), encoding="utf-8") as f:
            metadata = email.parser.Parser().parse(f, headersonly=True)
        name = metadata["Name"].replace("-", "_")
        version = metadata["Version"]
        dist_info_name = f"{name}-{version}.dist-info"

        files = {f"__editable__.{name}-{version}.pth": (root + "\n").encode()}
        for fname in sorted(os.listdir(dist_info)):
            if fname not in ("RECORD", "WHEEL") and os.path.isfile(os.path.join(dist_info, fname)):
                with open(os.path.join(dist_info, fname), "rb") as f:
                    files[f"{dist_info_name}/{fname}"] = f.read()
        files[f"{dist_info_name}/WHEEL"] = (
            "Wheel-Version: 1.0\nGenerator: skdeep_build_backend\n"
            "Root-Is-Purelib: false\nTag: py3-none-any\n"
        ).encode()

        wheel_name = f"{name}-{version}-py3-none-any.whl"
        record = [_record_line(arc, data) for arc, data in files.items()]
        record.append(f"{dist_info_name}/RECORD,,")
        files[f"{dist_info_name}/RECORD"] = ("\n".join(record) + "\n").encode()
        with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w") as whl:
            for arcname, data in files.items():
                whl.writestr(arcname, data)
    return wheel_name

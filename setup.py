"""Packaging for lc-runtime (distribution ``openedx-lc-runtime``)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    """Requirements live in requirements/*.in so ./run and setup.py agree."""
    lines = (HERE / "requirements" / name).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip() and not line.startswith("-")]


VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "lc_runtime" / "__init__.py").read_text()).group(1)

setup(
    name="openedx-lc-runtime",
    version=VERSION,
    description="Run Open edX courses from Learning Core: an XBlock runtime, a Split-compatible "
    "read-only modulestore facade, horizontal migration and a conformance suite.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="AGPL-3.0",
    python_requires=">=3.12",
    packages=find_packages(include=["lc_runtime", "lc_runtime.*", "modulestore_compat", "modulestore_compat.*",
                                    "conformance", "conformance.*"]),
    include_package_data=True,
    package_data={"lc_runtime": ["blocks/*.json"]},
    install_requires=read_requirements("base.in"),
    extras_require={
        "test": read_requirements("test.in"),
        "blocks": read_requirements("blocks.in"),
    },
    entry_points={
        "console_scripts": ["lc-runtime = lc_runtime.cli:main"],
        "lms.djangoapp": ["lc_runtime = lc_runtime.apps:LcRuntimeConfig",
                          "modulestore_compat = modulestore_compat.apps:ModulestoreCompatConfig"],
        "cms.djangoapp": ["lc_runtime = lc_runtime.apps:LcRuntimeConfig",
                          "modulestore_compat = modulestore_compat.apps:ModulestoreCompatConfig"],
        # Extensions of the lc-runtime command from higher layers (see lc_runtime/cli.py).
        "lc_runtime.cli": ["split = modulestore_compat.cli", "zz_conformance = conformance.cli"],
        "pytest11": ["lc_conformance = conformance.pytest_plugin"],
    },
    classifiers=[
        "Framework :: Django :: 5.2",
        "Programming Language :: Python :: 3.12",
        "License :: OSI Approved :: GNU Affero General Public License v3",
    ],
)

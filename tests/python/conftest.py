"""Fixtures: the project's programs (from tests/python/run.sh) and real
traces made by them once per run."""
import json
import os
import subprocess

import pytest


def _env(name):
    v = os.environ.get(name)
    if not v:
        pytest.exit("%s is not set: run the tests with tests/python/run.sh (ctest -R python)" % name, 2)
    return v


@pytest.fixture(scope="session")
def tools():
    return {"hvlog": _env("HVLOG_CLI"), "tracegen": _env("HVLOG_TRACEGEN"),
            "hvcore": _env("HVLOG_HVCORE"), "testdata": _env("HVLOG_TESTDATA")}


@pytest.fixture(scope="session")
def traces(tools, tmp_path_factory):
    d = tmp_path_factory.mktemp("traces")
    out = {"all": str(d / "all.hvlog"), "mix": str(d / "mix.hvlog"), "sim": str(d / "sim.hvlog")}
    subprocess.run([tools["tracegen"], "all", out["all"]], check=True)
    subprocess.run([tools["tracegen"], "mix", "50000", out["mix"]], check=True)
    subprocess.run([tools["hvcore"], "--no-progress", "-b", "sim", "-w", "mixed", "-v", "2", "-n", "40000",
                    "-o", out["sim"]], check=True, stderr=subprocess.DEVNULL)
    return out


def run(tools, *args):
    """`hvlog ARGS` -> stdout (exit status 0 or 1, as with damage)."""
    p = subprocess.run([tools["hvlog"], *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode in (0, 1), p.stderr
    return p.stdout


def jsonl(tools, path, *args):
    return [json.loads(l) for l in run(tools, "convert", "--to", "json", "-o", "-", *args, path).splitlines() if l]

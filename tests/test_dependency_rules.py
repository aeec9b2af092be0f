"""The dependency rules of docs/design.md: packages import one way (no cycles, lazy imports included), the runtime
loads nothing of training or torch, and imports nothing its `runtime` extra does not install; gradio
lives in haris.app alone, which needs nothing beyond the `ui` extra."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "torchvision", "onnx", "onnxruntime", "openvino", "tensorrt", "tensorrt_rtx", "open_clip", "segment_anything")
# Top-level folders and the package each installs as (pyproject's package-dir).
FOLDERS = {
    "haris": "haris",
    "export": "haris.export",
    "runtime": "haris.runtime",
    "benchmarks": "haris.benchmarks",
    "cpp_ops": "haris.cpp_ops",
    "serve": "haris.serve",
    "label": "haris.label",
}
# What importing any runtime module must never load: the training side of HARIS, and torch.
NOT_IN_RUNTIME = ("torch", "haris.checkpoint", "haris.data", "haris.evaluation", "haris.train", "haris.export", "haris.modeling", "haris.losses")
# Third-party imports a runtime file may make beyond its extra, each only lazily where it is named.
RUNTIME_OPTIONAL = {
    "cuda_memory.py": {"cuda"},  # cuda-python (gpu / rtx extras), for the TensorRT path
    "torch_backend.py": {"torch"},  # eager checkpoints need the train extra
    "openvino_backend.py": {"openvino"},  # the openvino extra
    "predictor_factory.py": {"torch"},
}


def python_files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    folder = path.relative_to(REPO).parts[0]
    parts = path.relative_to(REPO / folder).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((FOLDERS[folder], *parts))


def imports_of(path: Path) -> set[str]:
    """Every absolute import of the file, those inside functions (lazy ones) included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def package_of(module: str) -> str:
    """haris.<subpackage> for modules in one; a module directly under haris/ is its own leaf."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_packages_import_one_way_lazy_imports_included():
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for folder in FOLDERS:
        for path in python_files(folder):
            source = package_of(module_name(path))
            for name in imports_of(path):
                target = package_of(name)
                if name.startswith("haris.") and target != source:
                    edges[source].add(target)
                    where.setdefault((source, target), str(path.relative_to(REPO)))
    cycles = [f"{a} -> {b} ({where[a, b]}) and {b} -> {a} ({where[b, a]})" for a in list(edges) for b in edges[a] if a < b and a in edges.get(b, ())]
    assert not cycles
    assert not _longer_cycle(edges)


def _longer_cycle(edges: dict[str, set[str]]) -> list[str]:
    """A cycle through three or more packages, if any (depth-first search)."""
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str]:
        state[node] = 1
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (found := visit(nxt, [*trail, node])):
                return found
        state[node] = 2
        return []

    for start in list(edges):
        if start not in state and (found := visit(start, [])):
            return found
    return []


def modules_loaded_by_each(modules: list[str]) -> dict[str, list[str]]:
    """For each module, the modules present after importing it alone, each in a fresh child of one
    clean interpreter (fork: no state shared between them)."""
    code = (
        "import json, os, sys\n"
        "results = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    read, write = os.pipe()\n"
        "    if os.fork() == 0:\n"
        "        os.close(read); __import__(name)\n"
        "        os.write(write, json.dumps(sorted(sys.modules)).encode()); os._exit(0)\n"
        "    os.close(write); chunks = []\n"
        "    while chunk := os.read(read, 1 << 16): chunks.append(chunk)\n"
        "    os.wait(); results[name] = json.loads(b''.join(chunks))\n"
        "print(json.dumps(results))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(modules)], capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_no_runtime_module_loads_training_code_or_torch():
    modules = [module_name(path) for path in python_files("runtime")]
    for module, loaded in modules_loaded_by_each(modules).items():
        if module == "haris.runtime.torch_backend":
            loaded = [name for name in loaded if not name.startswith("torch")]  # the one runtime file that runs torch
        bad = sorted({name for name in loaded if name.startswith(NOT_IN_RUNTIME)})
        assert not bad, f"{module} loads {bad[:5]}"


def installed_by(*extras: str) -> set[str]:
    """The import names of what the core and `extras` install (pyproject's optional dependencies)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in extras for r in project["optional-dependencies"][extra] if not r.startswith("haris[")]
    distributions = {requirement.split(">")[0].split("=")[0].split("[")[0].strip().lower() for requirement in requirements}
    import_names = {"pillow": "PIL", "pyyaml": "yaml"}
    return {import_names.get(name, name) for name in distributions}


def third_party_imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imports_of(path)} - set(sys.stdlib_module_names) - {"haris", "__future__"}


def test_the_runtime_imports_only_what_its_extra_installs():
    installed = installed_by("runtime")
    for path in [*python_files("runtime"), *python_files("cpp_ops")]:
        extra = third_party_imports(path) - installed - RUNTIME_OPTIONAL.get(path.name, set())
        assert not extra, f"{path.relative_to(REPO)} imports {sorted(extra)}, which the runtime extra does not install"


def test_the_app_imports_only_what_the_ui_extra_installs():
    installed = installed_by("ui", "runtime")  # ui brings haris[runtime]
    for path in python_files("haris/app"):
        extra = third_party_imports(path) - installed
        assert not extra, f"{path.relative_to(REPO)} imports {sorted(extra)}, which the ui extra does not install"


def test_only_the_app_imports_gradio():
    importers = [path for folder in FOLDERS for path in python_files(folder) if "gradio" in third_party_imports(path)]
    assert importers and all(path.is_relative_to(REPO / "haris" / "app") for path in importers), importers


def test_the_app_loads_no_torch_nor_training_code_and_its_package_no_gradio():
    loaded = modules_loaded_by_each(["haris.app", "haris.app.app_launch", "haris.app.segment_page"])
    assert not {name for name in loaded["haris.app"] + loaded["haris.app.app_launch"] if name.split(".")[0] == "gradio"}
    assert "gradio" in loaded["haris.app.segment_page"]
    for module, names in loaded.items():
        bad = sorted({name for name in names if name.startswith(NOT_IN_RUNTIME)})
        assert not bad, f"{module} loads {bad[:5]}"


@pytest.mark.parametrize(
    "module",
    [
        "haris",
        "haris.config",
        "haris.errors",
        "haris.cpu_features",
        "haris.runtime",
        "haris.runtime.predictor",
        "haris.runtime.bundle_tokenizer",
        "haris.cpp_ops",
        "haris.evaluation.ris_metrics",
    ],
)
def test_light_modules_import_no_heavy_library(module):
    loaded = modules_loaded_by_each([module])[module]
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}


def test_model_imports_no_loss_optimizer_loop_onnx_or_tensorrt():
    loaded = set(modules_loaded_by_each(["haris.modeling"])["haris.modeling"])
    forbidden = {"haris.losses", "haris.train", "onnx", "onnxruntime", "tensorrt", "tensorrt_rtx", "haris.export", "haris.checkpoint"}
    assert not loaded & forbidden


def test_export_sources_never_import_training():
    for path in python_files("export"):
        assert not {n for n in imports_of(path) if n.startswith(("haris.train", "haris.losses"))}, path


def test_model_sources_import_no_loss_optimizer_onnx_or_tensorrt():
    for path in python_files("haris/modeling"):
        names = imports_of(path)
        bad = {n for n in names if n.split(".")[0] in ("onnx", "onnxruntime", "tensorrt", "tensorrt_rtx")}
        bad |= {n for n in names if n.startswith(("torch.optim", "haris.losses", "haris.train", "haris.export", "haris.checkpoint"))}
        assert not bad, path


@pytest.mark.parametrize(
    "package", ["haris.export", "haris.runtime", "haris.benchmarks", "haris.cpp_ops", "haris.configs", "haris.serve", "haris.label"]
)
def test_top_level_folders_import_as_haris_subpackages(package):
    assert package in modules_loaded_by_each([package])[package]


def test_the_public_predictor_imports_lazily_and_torch_free():
    code = (
        "import json, sys; import haris; before = set(sys.modules); from haris import Predictor; "
        "print(json.dumps([sorted(before), sorted(sys.modules), Predictor.__module__]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    before, after, where = json.loads(result.stdout.splitlines()[-1])
    assert "haris.runtime.predictor" not in before and where == "haris.runtime.predictor"
    assert not {name for name in after if name.split(".")[0] in HEAVY}


# The serving stack (the `serve` extra) and Ray Data (the `label` extra), and the only files that may import them.
SERVING_LIBRARIES = ("ray", "fastapi", "starlette", "uvicorn", "aiohttp")
SERVING_FILES = {
    "serve/service_status.py",
    "serve/segmenter.py",
    "serve/service_app.py",
    "serve/service_runner.py",
    "serve/request_reading.py",
    "serve/error_answers.py",
    "serve/service_hub.py",
    "serve/service_config.py",
    "benchmarks/serve_load.py",
    "label/label_pipeline.py",
    "label/batch_labeller.py",
    "benchmarks/label_throughput.py",
    "haris/ray_session.py",  # starting Ray, for both (lazily)
}


def test_only_the_serving_modules_import_ray_or_fastapi():
    for folder in FOLDERS:
        for path in python_files(folder):
            serving = {name for name in imports_of(path) if name.split(".")[0] in SERVING_LIBRARIES}
            where = str(path.relative_to(REPO))
            assert not serving or where in SERVING_FILES, f"{where} imports {sorted(serving)}; only {sorted(SERVING_FILES)} may"


def test_labelling_loads_ray_only_when_a_run_starts_and_no_training_code():
    """`haris label`'s settings and run module load neither Ray nor pyarrow (its pipeline does, when a run starts; the CLI's
    own check is above)."""
    modules = ["haris.label", "haris.label.label_run", "haris.label.label_settings"]
    for module, loaded in modules_loaded_by_each(modules).items():
        assert not {name for name in loaded if name.split(".")[0] in ("ray", "pyarrow", *HEAVY) or name.startswith(NOT_IN_RUNTIME)}, module


# The service's client side: what a machine without the `serve` extra (or a model) imports to ask a service.
CLIENT_MODULES = ["haris.serve.segment_client", "haris.serve.remote_predictor", "haris.serve.api_keys"]


@pytest.mark.parametrize("module", ["haris.cli", "haris.serve", *CLIENT_MODULES, "haris.serve.request_validation"])
def test_the_client_cli_and_request_checks_load_no_serving_library(module):
    loaded = modules_loaded_by_each([module])[module]
    assert not {name for name in loaded if name.split(".")[0] in (*SERVING_LIBRARIES, *HEAVY)}


def test_the_client_imports_only_the_standard_library_numpy_and_pillow_lazily():
    loaded = modules_loaded_by_each(["json", *CLIENT_MODULES])  # json: what the bare interpreter holds already
    for module in CLIENT_MODULES:
        path = REPO / "serve" / f"{module.rsplit('.', 1)[1]}.py"
        third_party = {name.split(".")[0] for name in imports_of(path)} - set(sys.stdlib_module_names)
        assert third_party <= {"haris", "numpy", "PIL", "__future__"}, path  # Pillow only lazily, to send pixels as PNG
        added = {name.split(".")[0] for name in set(loaded[module]) - set(loaded["json"])}
        assert added - set(sys.stdlib_module_names) <= {"haris", "numpy"}, f"{module} loads {sorted(added)}"


def test_only_the_divergence_localizer_imports_polygraphy_and_parity_loads_it_only_to_localize():
    importers = [str(path.relative_to(REPO)) for folder in FOLDERS for path in python_files(folder) if "polygraphy" in third_party_imports(path)]
    assert importers == ["benchmarks/divergence_localizer.py"]
    loaded = modules_loaded_by_each(["haris.benchmarks.parity_bench", "haris.cli.bench_commands"])
    assert not {name for names in loaded.values() for name in names if name.split(".")[0] == "polygraphy"}

"""Builds the compiled kernels of haris.cpp_ops; the rest of the package is declared in pyproject.toml.

Two optional pieces, neither of which can fail the install:

- `haris.cpp_ops._prepost`, the C++ CPU kernels (pybind11). Without a C++ compiler, Python headers
  or pybind11, the build warns and skips it, and haris.cpp_ops falls back to the numpy reference.
- `_prepost_cuda.so`, the CUDA kernels as a plain shared library for ctypes, built only when nvcc
  is found (CUDA_HOME/bin, PATH, /usr/local/cuda/bin); a failed nvcc run only warns. Set
  HARIS_NO_CUDA=1 to skip it, and HARIS_CUDA_ARCHS (e.g. "80;90") to choose the GPU architectures.

Flags are portable (-O3, no -march=native: a wheel runs on other CPUs) and keep floating point
exact: no fused multiply-adds (-ffp-contract=off, --fmad=false), which the numpy reference lacks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError
from setuptools.modified import newer_group

SOURCES = Path("cpp_ops")
HEADERS = [str(SOURCES / name) for name in ("common/row_blocks.h", "preprocess/preprocess.h", "postprocess/postprocess.h")]
CUDA_SOURCES = [str(SOURCES / name) for name in ("preprocess/preprocess_cuda.cu", "postprocess/postprocess_cuda.cu")]
CPU_MODULE = "haris.cpp_ops._prepost"
CUDA_LIBRARY = "haris.cpp_ops._prepost_cuda"
GCC_FLAGS = ["-std=c++17", "-O3", "-g0", "-ffp-contract=off", "-fvisibility=hidden", "-pthread"]
MSVC_FLAGS = ["/std:c++17", "/O2", "/fp:precise"]
# SASS for the data-centre and desktop generations from Turing to Blackwell, and PTX of the newest
# for GPUs after it. Each architecture adds a second or two of nvcc time.
DEFAULT_CUDA_ARCHS = "75;80;86;89;90;120"


def find_nvcc() -> str | None:
    """The nvcc to build the CUDA library with, or None to skip it."""
    if os.environ.get("HARIS_NO_CUDA"):
        return None
    cuda_home = os.environ.get("CUDA_HOME")
    candidates = [Path(cuda_home, "bin", "nvcc") if cuda_home else None, shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc"]
    return next((str(path) for path in candidates if path and os.access(path, os.X_OK)), None)


def cuda_arch_flags(nvcc: str, archs: str) -> list[str]:
    """-gencode flags: SASS for every architecture this nvcc knows, plus PTX of the newest one. An
    older toolkit lacks the newest architectures and a newer one drops the oldest; asking it for
    one it does not know would fail the whole library."""
    numbers = [arch.strip() for arch in archs.replace(",", ";").split(";") if arch.strip()]
    listing = subprocess.run([nvcc, "--list-gpu-arch"], capture_output=True, text=True)
    if listing.returncode == 0:
        numbers = [number for number in numbers if f"compute_{number}" in listing.stdout.split()]
    if not numbers:
        raise CompileError(f"nvcc supports none of the GPU architectures {archs}")
    flags = [f"-gencode=arch=compute_{number},code=sm_{number}" for number in numbers]
    return [*flags, f"-gencode=arch=compute_{numbers[-1]},code=compute_{numbers[-1]}"]


def nvcc_command(nvcc: str, output: str, sources: list[str]) -> list[str]:
    """The nvcc run that builds the CUDA library (scripts/gpu_check.py reads this function too, without setuptools)."""
    archs = cuda_arch_flags(nvcc, os.environ.get("HARIS_CUDA_ARCHS") or DEFAULT_CUDA_ARCHS)
    flags = ["-shared", "-std=c++17", "-O3", "--fmad=false", f"--threads={os.cpu_count() or 1}", "-Xcompiler", "-fPIC,-ffp-contract=off"]
    return [nvcc, *flags, *archs, "-o", output, *sources]


def kernel_extensions() -> list[Extension]:
    """The optional extensions this machine can try to build."""
    extensions = []
    try:
        import pybind11
    except ImportError:
        print("warning: pybind11 is not installed; haris.cpp_ops will use the numpy reference")
    else:
        sources = [str(SOURCES / name) for name in ("bindings.cpp", "preprocess/preprocess_cpu.cpp", "postprocess/postprocess_cpu.cpp")]
        extensions.append(Extension(CPU_MODULE, sources, include_dirs=[pybind11.get_include()], depends=HEADERS, language="c++", optional=True))
    if find_nvcc():
        extensions.append(Extension(CUDA_LIBRARY, CUDA_SOURCES, depends=HEADERS, optional=True))
    return extensions


class BuildKernels(build_ext):
    """build_ext that picks flags per compiler and hands the CUDA library to nvcc."""

    def build_extensions(self) -> None:
        flags = MSVC_FLAGS if self.compiler.compiler_type == "msvc" else GCC_FLAGS
        for extension in self.extensions:
            if extension.name == CPU_MODULE:
                extension.extra_compile_args = flags
                extension.extra_link_args = [flag for flag in flags if flag == "-pthread"]
        super().build_extensions()

    def get_ext_filename(self, fullname: str) -> str:
        # A ctypes library, not a Python module: a fixed name without the interpreter's suffix.
        # setuptools asks with the full dotted name or with its last part only.
        *package, name = fullname.split(".")
        if name == CUDA_LIBRARY.split(".")[-1]:
            return os.path.join(*package, f"{name}.so")
        return super().get_ext_filename(fullname)

    def build_extension(self, ext: Extension) -> None:
        if ext.name == CUDA_LIBRARY:
            self.build_cuda_library(ext)
        else:
            super().build_extension(ext)

    def build_cuda_library(self, ext: Extension) -> None:
        """nvcc -shared over the .cu files; a failure raises CompileError, which setuptools turns into a
        warning because the extension is optional."""
        output = Path(self.get_ext_fullpath(ext.name))
        if not self.force and not newer_group([*ext.sources, *ext.depends], str(output)):
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            command = nvcc_command(find_nvcc() or "nvcc", str(output), ext.sources)
            print(" ".join(command))
            subprocess.run(command, check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise CompileError(f"nvcc could not build the CUDA kernels: {error}") from error


setup(ext_modules=kernel_extensions(), cmdclass={"build_ext": BuildKernels})

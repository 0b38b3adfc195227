"""Build the Pythran kernels of skdeep; metadata lives in setup.cfg.

Environment knobs (read at build time):

SKDEEP_NATIVE=0     do not tune for the building CPU (-march=native is the default,
                    since the kernels are compiled on the machine that runs them).
SKDEEP_OPENMP=0     build without OpenMP even when the compiler supports it.
SKDEEP_BUILD_JOBS=N compile N kernels at once (default: the number of CPUs).
"""
import os
import subprocess
import sys
import tempfile

from setuptools import setup

KERNEL_DIR = os.path.join("skdeep", "_kernels")
TRIVIAL = "int main() { return 0; }\n"
OPENMP = "#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n"


def _kernel_names():
    """Every module of skdeep/_kernels that declares a Pythran export is a kernel."""
    names = []
    for fname in sorted(os.listdir(KERNEL_DIR)):
        if fname.endswith(".py") and not fname.startswith("__"):
            with open(os.path.join(KERNEL_DIR, fname)) as f:
                if "#pythran export" in f.read():
                    names.append(fname[:-3])
    return names


def _compiler_accepts(flags, source=TRIVIAL):
    """Whether the C++ compiler compiles and links `source` with `flags`."""
    cxx = os.environ.get("CXX", "c++")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.cpp")
        with open(src, "w") as f:
            f.write(source)
        cmd = [cxx, *flags, src, "-o", os.path.join(tmp, "probe")]
        try:
            return subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            return False


def _flags():
    compile_args = ["-O3", "-DUSE_XSIMD", "-Wno-unused-function", "-Wno-cpp"]
    link_args = []
    if os.environ.get("SKDEEP_NATIVE", "1") != "0" and _compiler_accepts(["-march=native"]):
        compile_args.append("-march=native")
    if os.environ.get("SKDEEP_OPENMP", "1") != "0" and _compiler_accepts(["-fopenmp"], OPENMP):
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    else:
        print("skdeep: building the kernels without OpenMP (one core each)", file=sys.stderr)
    return compile_args, link_args


def _extensions():
    from pythran.dist import PythranExtension

    compile_args, link_args = _flags()
    return [
        PythranExtension(
            f"skdeep._kernels.{name}",
            [f"skdeep/_kernels/{name}.py"],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
        )
        for name in _kernel_names()
    ]


def _cmdclass():
    from pythran.dist import PythranBuildExt

    class BuildKernels(PythranBuildExt):
        """Compile the kernels concurrently: each is one long C++ compile, and
        serially they take minutes, which every fresh install pays."""

        def finalize_options(self):
            super().finalize_options()
            if not self.parallel:
                self.parallel = int(os.environ.get("SKDEEP_BUILD_JOBS", os.cpu_count() or 1))

        def build_extensions(self):
            # Pythran translates to C++ when an extension's sources are first read;
            # do that here, one at a time, so that the worker threads only run the
            # compiler (the translator is not known to be thread-safe).
            for ext in self.extensions:
                ext.sources
            # The workers take the kernels in this order: the largest first, so the
            # longest compile does not start last and run alone at the end.
            self.extensions.sort(key=lambda ext: -os.path.getsize(
                os.path.join(KERNEL_DIR, ext.name.rsplit(".", 1)[-1] + ".py")))
            super().build_extensions()

    return {"build_ext": BuildKernels}


setup(ext_modules=_extensions(), cmdclass=_cmdclass())

"""The build step of `pip install .` (pyproject.toml): configures and builds
the `_transformer` target with CMake, for the Python that runs this, and puts
the module into the package beside python/transformer/__init__.py."""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                     f"-DPython_EXECUTABLE={sys.executable}", "-DTRANSFORMER_PYTHON=ON",
                     "-DTRANSFORMER_BUILD_TESTS=OFF", "-DTRANSFORMER_BUILD_BENCH=OFF"]
        if shutil.which("ccache"):
            configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_transformer", "-j", str(os.cpu_count() or 1)],
                       check=True)
        built = build_dir / "python" / "transformer" / pathlib.Path(self.get_ext_filename(ext.name)).name
        if not built.exists():  # pybind11 not found: CMake turned the module off
            raise RuntimeError(f"{built} was not built: is pybind11 installed (apt-get install pybind11-dev python3-dev)?")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    packages=["transformer"],
    package_dir={"": "python"},
    ext_modules=[Extension("transformer._transformer", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # Not build/: that is CMake's own build folder (README).
    options={"build": {"build_base": "build-pip"}},
)

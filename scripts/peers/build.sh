#!/usr/bin/env bash
# Build namref (scripts/peers/namref.cpp) against NAM Core, outside the repository, for the
# reference outputs in tests/data/nam_cases and for `pedal bench models --peers DIR`.
#
#   scripts/peers/build.sh [NAM_CORE_SOURCE]     # default: $PEERS/src/nam, cloned if absent
#   NEURALAUDIO=DIR scripts/peers/build.sh ...     # also natime, in a NeuralAudio checkout
#
# NAM_CORE_SOURCE is a checkout of sdatkinson/NeuralAmpModelerCore (daae2d0 was used) with its
# Dependencies (eigen, nlohmann); it is never copied into the repository. Binaries go to
# $PEERS (default ~/.cache/pedal/peers): namref_generic (upstream's tool flags: -O3 -Ofast,
# LTO, C++20, NAM_ENABLE_A2_FAST) and namref_native (the same with -march=native).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS=${PEERS:-$HOME/.cache/pedal/peers}
SRC=${1:-$PEERS/src/nam}
COMMIT=daae2d0b482a5fe876258caf3fdfe177044b6295
mkdir -p "$PEERS"
if [ ! -f "$SRC/NAM/dsp.h" ]; then
  echo "cloning NeuralAmpModelerCore $COMMIT into $SRC"
  git clone -q --recurse-submodules https://github.com/sdatkinson/NeuralAmpModelerCore "$SRC"
  git -C "$SRC" checkout -q "$COMMIT" && git -C "$SRC" submodule update -q --init --recursive
fi
command -v g++ >/dev/null || { echo "needs g++ (apt-get install -y g++)"; exit 1; }
EIGEN=$SRC/Dependencies/eigen
[ -d "$EIGEN/Eigen" ] || EIGEN=/usr/include/eigen3   # Debian's libeigen3-dev 3.4
FLAGS=(-O3 -DNDEBUG -Ofast -flto=auto -std=c++20 -DNAM_ENABLE_A2_FAST -I"$SRC" -I"$EIGEN"
       -I"$SRC/Dependencies/nlohmann")
for v in generic native; do
  extra=(); [ $v = native ] && extra=(-march=native)
  out=$PEERS/namref_$v
  if [ ! -x "$out" ] || [ "$HERE/namref.cpp" -nt "$out" ]; then
    echo "building $out"
    g++ "${FLAGS[@]}" "${extra[@]}" "$HERE/namref.cpp" "$SRC"/NAM/*.cpp "$SRC"/NAM/*/*.cpp \
        -o "$out" -lstdc++fs
  fi
done
echo "$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo "unknown commit")" > "$PEERS/namcore.commit"

# NeuralAudio (mikeoliphant/NeuralAudio e59cd5d was used, with its deps checked out): natime is
# added as one more of its Utils and built by its own CMake, Release, with its static models
NA=${NEURALAUDIO:-}
if [ -n "$NA" ]; then
    command -v cmake >/dev/null || { echo "NeuralAudio needs cmake (apt-get install -y cmake)"; exit 1; }
    # NAM Core's HEAD reads .nam files in nam_file.cpp, which NeuralAudio's source list predates
    grep -q nam_file.cpp "$NA/NeuralAudio/CMakeLists.txt" || sed -i \
        's#\.\./deps/NeuralAmpModelerCore/NAM/get_dsp.cpp#../deps/NeuralAmpModelerCore/NAM/get_dsp.cpp\n\t\t../deps/NeuralAmpModelerCore/NAM/nam_file.cpp#' \
        "$NA/NeuralAudio/CMakeLists.txt"
    mkdir -p "$NA/Utils/natime"
    cp "$HERE/natime.cpp" "$NA/Utils/natime/natime.cpp"
    echo 'create_util(natime)' > "$NA/Utils/natime/CMakeLists.txt"
    grep -q 'add_subdirectory(natime)' "$NA/Utils/CMakeLists.txt" || \
        echo 'add_subdirectory(natime)' >> "$NA/Utils/CMakeLists.txt"
    for v in generic native; do
        flags=""; [ $v = native ] && flags="-march=native"
        cmake -S "$NA" -B "$NA/build-$v" -DCMAKE_BUILD_TYPE=Release -DBUILD_UTILS=ON \
            -DBUILD_INTERNAL_STATIC_LSTM=ON -DBUILD_STATIC_RTNEURAL=ON \
            -DCMAKE_CXX_FLAGS="$flags" > "$PEERS/na-cmake-$v.log"
        cmake --build "$NA/build-$v" -j "${J:-2}" --target natime > "$PEERS/na-build-$v.log" 2>&1 \
            || { tail -30 "$PEERS/na-build-$v.log"; exit 1; }
        cp "$NA/build-$v/Utils/natime/natime" "$PEERS/natime_$v"
    done
    ls -la "$PEERS"/natime_*
fi
ls -la "$PEERS"/namref_*

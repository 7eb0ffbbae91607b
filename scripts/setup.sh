#!/usr/bin/env bash
# Installs vitrail's build and test dependencies from Debian 12 packages and
# builds the release configuration into build/. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential meson ninja-build pkg-config    # toolchain
  libopenblas-dev                                 # CPU backend (cblas_sgemm)
  libstb-dev                                      # image I/O (stb_image, stb_image_write)
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev   # video I/O
  libvulkan-dev glslc                             # Vulkan backend and shader compiler
  mesa-vulkan-drivers vulkan-tools vulkan-validationlayers      # lavapipe: Vulkan on the CPU, for tests
  check                                           # unit tests
  ffmpeg                                          # ffprobe reads our outputs in tests
  clang libclang-rt-14-dev                        # libFuzzer + sanitizers for the fuzz job
  python3                                         # fixture scripts
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  meson setup build -Dwerror=true -Dvulkan=enabled -Dvideo=enabled
fi
ninja -C build

# Sourced by scripts/test.sh and scripts/bench.sh: installs the Debian
# packages given as arguments when any is missing (apt-get; sudo when not
# root). Nothing else is assumed to be on the machine.
crew_ensure_packages() {
    local missing=()
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    echo "crew: installing ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo "${CREW_APT[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive $sudo "${CREW_APT[@]}" install -y -qq --no-install-recommends "${missing[@]}"
}

# apt-get waits this long for the dpkg lock rather than failing at once
# (another apt-get, or unattended-upgrades, may hold it for a while).
CREW_APT=(apt-get -o DPkg::Lock::Timeout=600)

CREW_BUILD_PACKAGES=(gcc g++ clang meson ninja-build pkg-config libatomic-ops-dev libcriterion-dev cmake
                     relacy-dev)

# The arm64 build (scripts/test.sh arm64, docs/portability.md): the cross
# compilers, the arm64 C library in the multiarch paths (the programs link
# against it, and qemu-aarch64 -L / runs them against it), the arm64 C++
# library there (the cross g++ links its own copy; qemu loads this one),
# qemu-user.
CREW_ARM64_PACKAGES=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev:arm64
                     libstdc++6:arm64 qemu-user)

# Where crew_ensure_arm64 unpacks libatomic-ops-dev:arm64. Outside the
# source tree: meson refuses include directories inside it that are not
# the project's own.
CREW_ARM64_SYSROOT="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/crew/arm64-sysroot"

# Everything the arm64 build needs: the arm64 architecture in dpkg, the
# packages above, and libatomic-ops-dev:arm64 unpacked (never installed)
# into $CREW_ARM64_SYSROOT. That package conflicts with the amd64
# libatomic-ops-dev the other builds need (neither is Multi-Arch: same), so
# the cross build finds its arm64 atomic_ops.pc there, through the machine
# file that scripts/test.sh writes. (libcriterion-dev:arm64 would conflict
# the same way, through libnanomsg-dev; the cross build needs no Criterion:
# its suites run on the plain driver.)
crew_ensure_arm64() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "crew: adding the arm64 architecture to dpkg"
        $sudo dpkg --add-architecture arm64
        # The package lists must then be read again, whatever is installed.
        $sudo "${CREW_APT[@]}" update -qq
    fi
    crew_ensure_packages "${CREW_ARM64_PACKAGES[@]}"
    if [ -f "$CREW_ARM64_SYSROOT/usr/lib/aarch64-linux-gnu/pkgconfig/atomic_ops.pc" ]; then
        return 0
    fi
    echo "crew: unpacking libatomic-ops-dev:arm64 into $CREW_ARM64_SYSROOT"
    local tmp
    tmp=$(mktemp -d)
    # apt-get download writes into the current directory; as root it warns
    # that it cannot drop privileges to _apt for a private directory.
    if ! (cd "$tmp" && apt-get download -qq libatomic-ops-dev:arm64 2>/dev/null); then
        $sudo "${CREW_APT[@]}" update -qq
        (cd "$tmp" && apt-get download -qq libatomic-ops-dev:arm64 2>/dev/null) ||
            { rm -rf "$tmp"; echo "crew: cannot download libatomic-ops-dev:arm64"; return 1; }
    fi
    rm -rf "$CREW_ARM64_SYSROOT.new"
    mkdir -p "$CREW_ARM64_SYSROOT.new"
    dpkg-deb -x "$tmp"/libatomic-ops-dev_*_arm64.deb "$CREW_ARM64_SYSROOT.new" ||
        { rm -rf "$tmp" "$CREW_ARM64_SYSROOT.new"; return 1; }
    rm -rf "$tmp" "$CREW_ARM64_SYSROOT"
    mv "$CREW_ARM64_SYSROOT.new" "$CREW_ARM64_SYSROOT"
}

# crew-mpi (src/mpi) and its suite: Open MPI, its mpirun and headers.
CREW_MPI_PACKAGES=(openmpi-bin libopenmpi-dev)

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
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

CREW_BUILD_PACKAGES=(gcc clang meson ninja-build pkg-config libatomic-ops-dev libcriterion-dev)
# crew-mpi (src/mpi) and its suite: Open MPI, its mpirun and headers.
CREW_MPI_PACKAGES=(openmpi-bin libopenmpi-dev)

# Sourced by scripts/build-images.sh and tests/containers/images_test.sh: how podman is called
# here, in one place. Without systemd (no cgroup manager to talk to) and without a registry,
# podman works with runc, cgroupfs and overlay storage; containers get explicit ulimits because
# the limits podman asks for by default (nofile 1048576) exceed this machine's hard limits
# (nofile 20000), and runc then fails to start them (docs/CONTAINERS.md).
# shellcheck shell=bash disable=SC2034
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs --storage-driver overlay --events-backend file)
PODMAN_RUN_LIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
# What every voxgate container should run with (the images are built for it).
PODMAN_RUN_HARDENING=(--read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges)

#!/usr/bin/env bash
# Builds voxgate's container images from BUILD_DIR/bin and the Debian mirror, without any
# container registry (docs/CONTAINERS.md):
#   1. one builder root file system with every package any image needs, made by mmdebstrap
#      (cached: rebuilt when the package lists or the mirror's Release files change);
#   2. per image, only the files of the packages in deploy/container/IMAGE.packages (licence
#      files kept, other docs dropped), the binaries in /usr/bin, a voxgate user (65532) and a
#      dpkg status file naming the packages; the build fails if any program or library in it
#      lacks a shared library;
#   3. `podman import` of that tree with the image's user, entrypoint, environment and labels.
# Usage: scripts/build-images.sh BUILD_DIR [IMAGE...]   (IMAGE: gateway engine-pocketsphinx
#        engine-apertium engine-espeak; default: all)
#        scripts/build-images.sh --ldd BUILD_DIR   (the packages of the binaries' libraries, to
#        keep the lists up to date)
# Environment: VOXGATE_IMAGE_CACHE (default ~/.cache/voxgate/images), VOXGATE_DEBIAN_MIRROR,
# VOXGATE_DEBIAN_SECURITY_MIRROR, VOXGATE_IMAGE_TAG (default: git describe --always --dirty; for
# an image you push, a clean commit's `git rev-parse --short HEAD`), VOXGATE_IMAGE_EXTRA_TAGS
# (default: "latest dev"; empty: none), VOXGATE_IMAGE_KEEP (default 3: per image, only the newest
# 3 builds tagged like git describe output stay tagged; older such tags are removed, and their
# images with them unless another tag names them; 0: keep all),
# VOXGATE_LICENSE (SPDX id of voxgate itself), VOXGATE_SOURCE_URL, VOXGATE_IMAGES_OFFLINE=1
# (use the cached builder root without asking the mirror whether it changed), VOXGATE_KEEP_STAGE=1
# (keep each image's file tree in the cache directory, to look at), VOXGATE_HOST_APT_CACHE (.debs
# to reuse; default /var/cache/apt/archives, empty: none).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/podman-flags.sh
source "$root/scripts/podman-flags.sh"
lists="$root/deploy/container"
start_time=$SECONDS

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'build-images: error: %s\n' "$*" >&2; exit 1; }

# name|binaries|entrypoint|default args (JSON)|ports|licences besides voxgate's|description
# Ports as deploy/kubernetes uses them: endpoint 8080, router 7001, pool 7002, alert relay 9095,
# engines 7003-7005, every admin listener 9090.
images_table=(
  "gateway|voxgate voxctl|voxgate|[\"--help\"]|8080 7001 7002 9095 9090||voxgate gateway: endpoint, router, pool and alert-relay roles, and voxctl"
  "engine-pocketsphinx|voxgate-engine-pocketsphinx|voxgate-engine-pocketsphinx|[\"--listen=0.0.0.0:7003\", \"--admin=0.0.0.0:9090\"]|7003 9090|BSD-2-Clause|voxgate speech recognition engine: CMU pocketsphinx with the US English model"
  "engine-apertium|voxgate-engine-apertium|voxgate-engine-apertium|[\"--listen=0.0.0.0:7004\", \"--admin=0.0.0.0:9090\"]|7004 9090|GPL-2.0-or-later|voxgate machine translation engine: apertium with the English-Spanish pair"
  "engine-espeak|voxgate-engine-espeak|voxgate-engine-espeak|[\"--listen=0.0.0.0:7005\", \"--admin=0.0.0.0:9090\"]|7005 9090|GPL-3.0-or-later|voxgate speech synthesis engine: espeak-ng and its voices"
)
table_row() {
  local row
  for row in "${images_table[@]}"; do [ "${row%%|*}" = "$1" ] && { printf '%s\n' "$row"; return 0; }; done
  return 1
}

# The packages owning the shared libraries a binary loads on this machine (merged /usr: dpkg
# knows some files under /lib, some under /usr/lib).
ldd_packages() {
  ldd "$1" | awk '/=>/ && $3 ~ /^\// {print $3} /^[ \t]*\/lib64/ {print $1}' | while read -r lib; do
    local owner="" p
    for p in "$lib" "$(readlink -f "$lib")" "${lib#/usr}" "/usr$lib" "/usr$(readlink -f "$lib")"; do
      owner=$(dpkg -S "$p" 2>/dev/null | head -n1) && [ -n "$owner" ] && break
    done
    [ -n "$owner" ] && echo "${owner%%:*}" || echo "UNOWNED:$lib"
  done | sort -u
}

if [ "${1:-}" = "--ldd" ]; then
  [ $# -eq 2 ] || die "usage: $0 --ldd BUILD_DIR"
  for b in "$2"/bin/voxgate "$2"/bin/voxctl "$2"/bin/voxgate-engine-*; do
    echo "$(basename "$b"): $(ldd_packages "$b" | tr '\n' ' ')"
  done
  exit 0
fi

[ $# -ge 1 ] || die "usage: $0 BUILD_DIR [IMAGE...]  (IMAGE: gateway engine-pocketsphinx engine-apertium engine-espeak)"
build_dir=$(cd "$1" 2>/dev/null && pwd) || die "no build directory $1 (run 'make build' first)"
shift
selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
  for row in "${images_table[@]}"; do selected+=("${row%%|*}"); done
fi
for name in "${selected[@]}"; do table_row "$name" >/dev/null || die "unknown image '$name' (gateway engine-pocketsphinx engine-apertium engine-espeak)"; done

step "checking the tools"
[ "$(id -u)" -eq 0 ] || die "needs root: mmdebstrap builds the root file system as root and the images go to root's podman storage"
for tool in mmdebstrap podman runc dpkg-query ldconfig chroot curl sha256sum strip flock; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh"
done
info "$(mmdebstrap --version), $("${PODMAN[@]}" --version), $(runc --version | head -n1)"

# ---- the package lists --------------------------------------------------------------------
# read_list FILE: prints "+pkg", "!pkg" and "-glob" lines, following @includes.
read_list() {
  local file=$1 line entry
  [ -f "$file" ] || die "no package list $file"
  while IFS= read -r line || [ -n "$line" ]; do
    entry=${line%%#*}
    entry=$(echo "$entry" | tr -d '[:space:]')
    case "$entry" in
      "") ;;
      @*) read_list "$lists/${entry#@}" ;;
      !*) echo "$entry" ;;
      -/*) echo "$entry" ;;
      [a-z0-9]*) echo "+$entry" ;;
      *) die "$file: cannot read '$line'" ;;
    esac
  done <"$file"
}
# One builder root serves every image (so building one image after another reuses it).
declare -A image_list
all_packages=()
for row in "${images_table[@]}"; do
  name=${row%%|*}
  image_list[$name]=$(read_list "$lists/$name.packages" | sort -u)
  mapfile -t -O "${#all_packages[@]}" all_packages < <(grep '^+' <<<"${image_list[$name]}" | cut -c2-)
done
mapfile -t all_packages < <(printf '%s\n' "${all_packages[@]}" | sort -u)

# ---- the image tag and labels ---------------------------------------------------------------
cmake_version=$(sed -n 's/^project(voxgate VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  describe=$(git -C "$root" describe --always --dirty)
  revision=$(git -C "$root" rev-parse HEAD)
  source_url=${VOXGATE_SOURCE_URL:-$(git -C "$root" config --get remote.origin.url || true)}
  source_date=$(git -C "$root" log -1 --format=%ct)
else
  describe="$cmake_version" revision=unknown source_url=${VOXGATE_SOURCE_URL:-} source_date=0
fi
tag=${VOXGATE_IMAGE_TAG:-$describe}
# latest, and dev: the tag deploy/kubernetes/overlays/dev deploys.
extra_tags=${VOXGATE_IMAGE_EXTRA_TAGS-latest dev}
case "$describe" in "$cmake_version"*|v"$cmake_version"*) version=$describe ;; *) version="$cmake_version-$describe" ;; esac
license=${VOXGATE_LICENSE:-NOASSERTION}
[ -n "$source_url" ] || source_url="voxgate (no git remote; set VOXGATE_SOURCE_URL)"

# ---- 1. the builder root file system ------------------------------------------------------
mirror=${VOXGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${VOXGATE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=bookworm
sources=("deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security_mirror $suite-security main")
cache=${VOXGATE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voxgate/images}
host_debs=${VOXGATE_HOST_APT_CACHE-/var/cache/apt/archives}
[ -n "$host_debs" ] || host_debs=/nonexistent
mkdir -p "$cache/debs"
exec 9>"$cache/lock"
if ! flock -n 9; then
  info "another image build holds $cache/lock; waiting"
  flock 9
fi

step "builder root file system (${#all_packages[@]} packages from $mirror)"
# A cached builder root serves if it was made from the same sources, the mirror has not changed
# since (the Date of each suite's InRelease), and it has every package (a superset will do, so
# dropping a package from a list costs nothing).
release_dates=""
if [ "${VOXGATE_IMAGES_OFFLINE:-0}" != 1 ]; then
  for s in "$mirror $suite" "$mirror $suite-updates" "$security_mirror $suite-security"; do
    read -r url dist <<<"$s"
    d=$(curl -fsS --max-time 15 "$url/dists/$dist/InRelease" 2>/dev/null | sed -n 's/^Date: //p' | head -n1) || d=""
    [ -n "$d" ] || { release_dates=""; info "cannot read $url/dists/$dist/InRelease: using a cached builder root if there is one"; break; }
    release_dates+="$dist: $d; "
  done
fi
sources_key=$(printf '%s\n' "mmdebstrap --variant=apt" "${sources[@]}" | sha256sum | cut -c1-16)
builder=""
for ok in "$cache"/rootfs-*.ok; do
  [ -f "$ok" ] && [ -d "${ok%.ok}" ] || continue
  [ "$(sed -n 1p "$ok")" = "$sources_key" ] || continue
  [ -z "$release_dates" ] || [ "$(sed -n 2p "$ok")" = "$release_dates" ] || continue
  if [ -z "$(comm -23 <(printf '%s\n' "${all_packages[@]}") <(tail -n +3 "$ok" | sort -u))" ]; then builder=${ok%.ok}; break; fi
done
if [ -n "$builder" ]; then
  info "cached: $builder (${release_dates:-mirror not asked})"
else
  [ -n "$release_dates" ] || die "no cached builder root in $cache has every package, and the Debian mirror $mirror was not asked (VOXGATE_IMAGES_OFFLINE=1) or cannot be reached"
  builder="$cache/rootfs-$(printf '%s\n' "$sources_key" "$release_dates" "${all_packages[@]}" | sha256sum | cut -c1-16)"
  info "mirror: $release_dates"
  info "running mmdebstrap into $builder (log: $builder.log); the .debs in $host_debs and $cache/debs are reused"
  rm -rf "$builder" "$builder.ok"
  t0=$SECONDS
  # The host's and our own .deb caches are hard-linked in (copied if on another file system);
  # apt uses those whose checksum the mirror's index lists and downloads the rest.
  seed='mkdir -p "$1/var/cache/apt/archives"; for d in '"'$host_debs' '$cache/debs'"'; do for f in "$d"/*.deb; do [ -e "$f" ] || continue; t="$1/var/cache/apt/archives/${f##*/}"; [ -e "$t" ] || ln "$f" "$t" 2>/dev/null || cp "$f" "$t"; done; done'
  if ! mmdebstrap --variant=apt --include="$(IFS=,; echo "${all_packages[*]}")" --skip=essential/unlink --skip=cleanup/apt/cache \
      --setup-hook="$seed" "$suite" "$builder" "${sources[@]}" >"$builder.log" 2>&1; then
    tail -n 25 "$builder.log" >&2
    die "mmdebstrap failed (whole log: $builder.log)"
  fi
  # Keep the downloaded .debs the host does not have, for the next builder root.
  for f in "$builder"/var/cache/apt/archives/*.deb; do
    [ -e "$f" ] || continue
    [ -e "$host_debs/${f##*/}" ] || [ -e "$cache/debs/${f##*/}" ] || ln "$f" "$cache/debs/" 2>/dev/null || cp "$f" "$cache/debs/"
  done
  rm -rf "$builder"/var/cache/apt/archives
  { printf '%s\n' "$sources_key" "$release_dates"; dpkg-query --admindir="$builder/var/lib/dpkg" -W -f='${Package}\n'; } >"$builder.ok"
  info "built in $((SECONDS - t0)) s"
  for old in "$cache"/rootfs-*; do
    case "$old" in
      "$builder"|"$builder".*) ;;
      *) info "removing the old builder root $old"; rm -rf "$old" ;;
    esac
  done
fi
builder_key=${builder##*/rootfs-}
admindir="$builder/var/lib/dpkg"

# ---- 2. and 3. each image -------------------------------------------------------------------
# check_dependencies NAME: every Pre-Depends/Depends of an included package is included,
# provided by an included package, or deliberately left out (!pkg).
check_dependencies() {
  local name=$1 included provided missing=""
  included=$(grep '^+' <<<"${image_list[$name]}" | cut -c2-)
  provided=$(for p in $included; do dpkg-query --admindir="$admindir" -W -f='${Provides}\n' "$p"; done |
    tr ',' '\n' | sed 's/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true)
  local have
  have=$({ printf '%s\n' "$included" "$provided"; grep '^!' <<<"${image_list[$name]}" | cut -c2-; } | sort -u)
  for p in $included; do
    dpkg-query --admindir="$admindir" -W -f='${Pre-Depends}, ${Depends}\n' "$p" >/dev/null 2>&1 ||
      die "$name: package $p is not in the builder root"
    while IFS= read -r group; do
      group=$(sed 's/([^)]*)//g; s/:any//g; s/[[:space:]]//g' <<<"$group")
      [ -n "$group" ] || continue
      local ok="" alt
      for alt in ${group//|/ }; do grep -qxF "$alt" <<<"$have" && { ok=1; break; }; done
      [ -n "$ok" ] || missing+=" $group (of $p)"
    done < <(dpkg-query --admindir="$admindir" -W -f='${Pre-Depends}, ${Depends}\n' "$p" | tr ',' '\n')
  done
  [ -z "$missing" ] || die "$name: dependencies neither in deploy/container/$name.packages nor left out with !PACKAGE:$missing"
}

# stage_image NAME STAGE: the image's file tree.
stage_image() {
  local name=$1 stage=$2 row binaries included
  row=$(table_row "$name")
  IFS='|' read -r _ binaries _ <<<"$row"
  included=$(grep '^+' <<<"${image_list[$name]}" | cut -c2-)
  rm -rf "$stage"
  mkdir -p "$stage"/usr/{bin,sbin,lib,lib64} "$stage"/{etc,proc,sys,dev,run,var/lib/dpkg}
  ln -s usr/bin "$stage/bin"; ln -s usr/sbin "$stage/sbin"; ln -s usr/lib "$stage/lib"; ln -s usr/lib64 "$stage/lib64"
  install -d -m 1777 "$stage/tmp"
  install -d -m 0700 "$stage/root"
  # The packages' files: docs, manuals and translations dropped, copyright files kept.
  local filelist="$stage.files"
  # Paths under /bin, /lib, ... are taken from /usr (merged /usr: those are symlinks, made above).
  for p in $included; do dpkg-query --admindir="$admindir" -L "$p"; done | grep '^/' | grep -v -x '/\.' |
    sed -E 's#^/(bin|sbin|lib|lib64)(/|$)#/usr/\1\2#' >"$filelist.pkg"
  grep -v -E '^/usr/share/(man|info|lintian|locale|bug|doc-base|menu|gtk-doc)/|^/usr/share/doc/[^/]+/.' "$filelist.pkg" >"$filelist.all" || true
  grep -E '^/usr/share/doc/[^/]+/copyright$' "$filelist.pkg" >>"$filelist.all" || true
  # The globs left out (-/path/glob), matched as shell patterns.
  local glob
  cp "$filelist.all" "$filelist"
  while IFS= read -r glob; do
    glob=${glob#-}
    while IFS= read -r f; do
      # shellcheck disable=SC2053
      [[ $f == $glob ]] || echo "$f"
    done <"$filelist" >"$filelist.tmp"
    mv "$filelist.tmp" "$filelist"
  done < <(grep '^-' <<<"${image_list[$name]}")
  sort -u "$filelist" | sed 's|^/||' >"$filelist.tmp" && mv "$filelist.tmp" "$filelist"
  tar -C "$builder" --no-recursion -cf - -T "$filelist" | tar -C "$stage" --keep-directory-symlink -xf -
  rm -f "$filelist" "$filelist.all" "$filelist.pkg"
  # update-alternatives links (libblas.so.3 → blas/libblas.so.3) whose target is in the image.
  local alt link target
  for alt in "$admindir"/alternatives/*; do
    [ -f "$alt" ] || continue
    { read -r _; read -r link; } <"$alt"
    target=$(readlink "$builder/etc/alternatives/${alt##*/}" || true)
    if [ -n "$target" ] && [ -e "$stage$target" ]; then
      mkdir -p "$stage/etc/alternatives" "$stage$(dirname "$link")"
      ln -sfn "$target" "$stage/etc/alternatives/${alt##*/}"
      ln -sfn "/etc/alternatives/${alt##*/}" "$stage$link"
    fi
  done
  # Files maintainer scripts made in the builder root.
  if grep -qx ca-certificates <<<"$included"; then
    mkdir -p "$stage/etc/ssl" "$stage/usr/lib/ssl"
    cp -a "$builder/etc/ssl/certs" "$stage/etc/ssl/"
    ln -sfn /etc/ssl/certs "$stage/usr/lib/ssl/certs"             # OpenSSL's default paths, as
    ln -sfn /etc/ssl/certs/ca-certificates.crt "$stage/usr/lib/ssl/cert.pem"  # the openssl package links them
  fi
  # The user, name lookup and the loader's cache.
  printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' 'voxgate:x:65532:65532:voxgate:/nonexistent:/usr/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$stage/etc/passwd"
  printf '%s\n' 'root:x:0:' 'voxgate:x:65532:' 'nogroup:x:65534:' >"$stage/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$stage/etc/nsswitch.conf"
  echo 'include /etc/ld.so.conf.d/*.conf' >"$stage/etc/ld.so.conf"
  # dpkg's record of the packages, trimmed to this image's (what image scanners read).
  awk -v want="$(echo $included)" 'BEGIN { RS = ""; ORS = "\n\n"; n = split(want, w, " "); for (i = 1; i <= n; i++) keep[w[i]] = 1 }
    { split($0, line, "\n"); p = line[1]; sub(/^Package: /, "", p); if (p in keep) print }' \
    "$admindir/status" >"$stage/var/lib/dpkg/status"
  # Mount points the Kubernetes manifests use: the config (read-only) and the alert relay's
  # outbox, owned by the voxgate user so that a fresh volume there is writable.
  if [ "$name" = gateway ]; then
    install -d -m 0755 "$stage/etc/voxgate"
    install -d -m 0750 -o 65532 -g 65532 "$stage/var/lib/voxgate-alerts"
  fi
  local b
  # Without debug information (RelWithDebInfo: ~80 % of the gateway binary); symbols stay, so
  # backtraces still name functions.
  for b in $binaries; do
    strip --strip-debug -o "$stage/usr/bin/$b" "$build_dir/bin/$b"
    chmod 0755 "$stage/usr/bin/$b"
  done
  ldconfig -r "$stage"
}

# check_libraries NAME STAGE: the loader finds every shared library of every ELF file.
check_libraries() {
  local name=$1 stage=$2 f out bad="" n=0
  while IFS= read -r -d '' f; do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    [[ $f == */ld-linux-x86-64.so.2 ]] && continue
    n=$((n + 1))
    # ldd's "=> not found", or the loader giving up ("cannot open shared object file").
    if ! out=$(chroot "$stage" /usr/lib64/ld-linux-x86-64.so.2 --list "${f#"$stage"}" 2>&1); then
      grep -q -E 'not a dynamic executable|statically linked' <<<"$out" && continue
      bad+="\n  ${f#"$stage"}: $(grep -E 'not found|error' <<<"$out" | head -n 3 | tr '\n' ' ')"
    elif grep -q 'not found' <<<"$out"; then
      bad+="\n  ${f#"$stage"}: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ' | tr '\n' ' ')"
    fi
  done < <(find "$stage/usr" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
  [ -z "$bad" ] || die "$name: shared libraries not found in the image:$(printf '%b' "$bad")"
  info "the loader finds every library of the image's $n ELF files"
}

# prune_describe_tags IMAGE: every build tags a new git describe name (abc1234, abc1234-dirty,
# v0.1.0-3-gabc1234), and they pile up. Keeps the newest $keep such tags of IMAGE (this build's
# among them) and removes the older ones; other tags (latest, dev, test, 0.1.0, a release's v0.1.0)
# are never touched. An image left without a tag goes with the dangling ones below.
keep=${VOXGATE_IMAGE_KEEP:-3}
[[ $keep =~ ^[0-9]+$ ]] || die "VOXGATE_IMAGE_KEEP must be a number, not '$keep'"
describe_tag_re='^(v?[0-9]+(\.[0-9]+)*-[0-9]+-g)?[0-9a-f]{7,40}(-dirty)?$'
prune_describe_tags() {
  local image=$1 kept=0 created t
  [ "$keep" -gt 0 ] || return 0
  if [[ $tag =~ $describe_tag_re ]]; then kept=1; fi
  while IFS='|' read -r created t; do
    [ "$t" != "$tag" ] && [[ $t =~ $describe_tag_re ]] || continue
    if [ "$kept" -lt "$keep" ]; then kept=$((kept + 1)); continue; fi
    info "untagging $image:$t (built $created; only the newest $keep describe-tagged builds stay: VOXGATE_IMAGE_KEEP)"
    "${PODMAN[@]}" untag "$image:$t" >/dev/null 2>&1 || true
  done < <("${PODMAN[@]}" images --format '{{.CreatedAt}}|{{.Tag}}' --filter "reference=$image" | sort -r)
}

declare -A result_size result_state
for name in "${selected[@]}"; do
  step "image voxgate-$name"
  row=$(table_row "$name")
  IFS='|' read -r _ binaries entrypoint cmd ports extra_license description <<<"$row"
  for b in $binaries; do
    f="$build_dir/bin/$b"
    [ -x "$f" ] && [ -s "$f" ] || die "$f is missing or empty (run 'make build' first)"
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || die "$f is not an ELF executable (is the build still linking?)"
  done
  check_dependencies "$name"
  image="localhost/voxgate-$name"
  content_key=$( { echo "$builder_key"; echo "${image_list[$name]}"; echo "$row $version $revision $license $source_url";
    sha256sum <"$0"; sha256sum <"$root/scripts/podman-flags.sh"; for b in $binaries; do sha256sum <"$build_dir/bin/$b"; done; } | sha256sum | cut -c1-32)
  existing=$("${PODMAN[@]}" image inspect --format '{{index .Config.Labels "io.voxgate.image.content-key"}}' "$image:$tag" 2>/dev/null || true)
  if [ "$existing" = "$content_key" ]; then
    info "up to date: $image:$tag (same binaries, packages and builder root)"
    result_state[$name]=cached
  else
    t0=$SECONDS
    stage="$cache/stage-$name"
    info "staging the file tree in $stage"
    stage_image "$name" "$stage"
    check_libraries "$name" "$stage"
    shell=""
    for sh in /bin/sh /bin/bash /bin/dash; do [ -e "$stage$sh" ] && shell+=" $sh"; done
    if [ -n "$shell" ]; then shell="shell:$shell"; else shell="no shell"; fi
    info "$(du -sh --apparent-size "$stage" | cut -f1) in $(find "$stage" | wc -l) files, $(grep -c '^+' <<<"${image_list[$name]}") packages, $shell"
    licenses=$license
    [ -z "$extra_license" ] || licenses="$license AND $extra_license"
    entry_json="[\"/usr/bin/$entrypoint\"]"
    changes=(
      --change "USER 65532:65532"
      --change "WORKDIR /"
      --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
      --change "ENV TMPDIR=/tmp"
      --change "ENTRYPOINT $entry_json"
      --change "CMD $cmd"
      --change "STOPSIGNAL SIGTERM"
      --change "LABEL org.opencontainers.image.title=voxgate-$name"
      --change "LABEL org.opencontainers.image.description=\"$description\""
      --change "LABEL org.opencontainers.image.version=$version"
      --change "LABEL org.opencontainers.image.revision=$revision"
      --change "LABEL org.opencontainers.image.licenses=\"$licenses\""
      --change "LABEL org.opencontainers.image.source=\"$source_url\""
      --change "LABEL org.opencontainers.image.base.name=\"debian:$suite (mmdebstrap; $(echo $release_dates))\""
      --change "LABEL io.voxgate.image.content-key=$content_key"
    )
    for port in $ports; do changes+=(--change "EXPOSE $port/tcp"); done
    info "podman import $image:$tag"
    tar -C "$stage" --sort=name --numeric-owner --mtime="@$source_date" --clamp-mtime -cf - . |
      "${PODMAN[@]}" import --quiet "${changes[@]}" --message "voxgate-$name $version" - "$image:$tag" >/dev/null ||
      die "podman import of $image:$tag failed"
    [ "${VOXGATE_KEEP_STAGE:-0}" = 1 ] && info "kept the file tree in $stage (VOXGATE_KEEP_STAGE=1)" || rm -rf "$stage"
    result_state[$name]="built in $((SECONDS - t0)) s"
  fi
  for t in $extra_tags; do [ "$t" = "$tag" ] || "${PODMAN[@]}" tag "$image:$tag" "$image:$t"; done
  prune_describe_tags "$image"
  # Earlier builds of this image that no tag names any more.
  for id in $("${PODMAN[@]}" images --quiet --filter dangling=true --filter "label=org.opencontainers.image.title=voxgate-$name"); do
    "${PODMAN[@]}" rmi "$id" >/dev/null 2>&1 || true
  done
  result_size[$name]=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$image:$tag")
  info "$image:$tag (also:$(printf ' %s' $extra_tags)), $((result_size[$name] / 1000000)) MB"
done

step "done in $((SECONDS - start_time)) s"
printf '    %-56s %8s  %s\n' IMAGE SIZE ""
for name in "${selected[@]}"; do
  printf '    %-56s %5d MB  %s\n' "localhost/voxgate-$name:$tag" $((result_size[$name] / 1000000)) "${result_state[$name]}"
done

#!/usr/bin/env bash
# Builds rust-core into wasm/sshwire_core.wasm reproducibly, offline, with
# Debian's Rust toolchain, and records its SHA-256 beside it.
#
#   scripts/build-wasm.sh           build and update wasm/sshwire_core.wasm(.sha256)
#   scripts/build-wasm.sh --check   rebuild in a temp dir and fail if the bytes
#                                   differ from the committed file (or the
#                                   committed .sha256 does not match it)
#
# Reproducibility: every build starts from an empty target dir and a
# throw-away CARGO_HOME, and all absolute paths (checkout, CARGO_HOME,
# target dir) are remapped, so the bytes do not depend on where the repo
# lives. The toolchain is pinned to the Debian packages (CARGO/RUSTC may be
# overridden, but then the output is only reproducible against that toolchain).
set -euo pipefail

mode=build
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
  *) echo "build-wasm.sh: unknown argument '$1' (use --check or nothing)" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cargo_bin="${CARGO:-/usr/bin/cargo}"
rustc_bin="${RUSTC:-/usr/bin/rustc}"
target=wasm32-unknown-unknown
out_name=sshwire_core.wasm
wasm_dir="$root/wasm"

for tool in "$cargo_bin" "$rustc_bin"; do
  if [[ ! -x "$tool" ]]; then
    echo "build-wasm.sh: $tool not found (apt-get install cargo rustc libstd-rust-dev-wasm32 lld-14)" >&2
    exit 1
  fi
done
sysroot="$("$rustc_bin" --print sysroot)"
if [[ ! -d "$sysroot/lib/rustlib/$target" ]]; then
  echo "build-wasm.sh: no $target std for $rustc_bin (apt-get install libstd-rust-dev-wasm32)" >&2
  exit 1
fi
# The wasm32 target links with rust-lld, which Debian's rustc ships as a link to lld-14.
if ! command -v rust-lld >/dev/null 2>&1 || ! rust-lld -flavor wasm --version >/dev/null 2>&1; then
  echo "build-wasm.sh: rust-lld does not run (apt-get install lld-14; Debian's rust-lld is a link to it)" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/sshwire-wasm.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cargo_home="$work/cargo-home"
target_dir="$work/target"
mkdir -p "$cargo_home" "$target_dir"

# rust-core has no dependencies; should one appear, it must come from
# Debian's packaged crates, never the network.
cat > "$cargo_home/config.toml" <<'EOF'
[source.crates-io]
replace-with = "debian-packages"

[source.debian-packages]
directory = "/usr/share/cargo/registry"

[net]
offline = true
EOF

# \x1f-separated so paths with spaces survive.
sep=$'\x1f'
flags="-Ctarget-feature=+simd128"
flags+="${sep}--remap-path-prefix=$root=/sshwire"
flags+="${sep}--remap-path-prefix=$cargo_home=/cargo-home"
flags+="${sep}--remap-path-prefix=$target_dir=/target"
flags+="${sep}--remap-path-prefix=$sysroot=/rust-sysroot"

(
  cd "$root"
  env -u RUSTFLAGS -u RUSTC_WRAPPER -u CARGO_BUILD_RUSTFLAGS \
    CARGO_HOME="$cargo_home" \
    CARGO_TARGET_DIR="$target_dir" \
    CARGO_ENCODED_RUSTFLAGS="$flags" \
    CARGO_INCREMENTAL=0 \
    RUSTC="$rustc_bin" \
    SOURCE_DATE_EPOCH=0 \
    "$cargo_bin" build --quiet --release --locked --offline \
      --target "$target" -p rust-core
)

built="$target_dir/$target/release/$out_name"
if [[ ! -f "$built" ]]; then
  echo "build-wasm.sh: cargo did not produce $built" >&2
  exit 1
fi
hash="$(sha256sum "$built" | cut -d' ' -f1)"

if [[ "$mode" == build ]]; then
  mkdir -p "$wasm_dir"
  install -m 644 "$built" "$wasm_dir/$out_name"
  printf '%s  %s\n' "$hash" "$out_name" > "$wasm_dir/$out_name.sha256"
  echo "wasm/$out_name: $(wc -c < "$built") bytes, sha256 $hash"
  exit 0
fi

committed="$wasm_dir/$out_name"
status=0
if [[ ! -f "$committed" ]]; then
  echo "check-wasm: $committed is missing; run scripts/build-wasm.sh" >&2
  exit 1
fi
if ! (cd "$wasm_dir" && sha256sum --check --status "$out_name.sha256" 2>/dev/null); then
  echo "check-wasm: wasm/$out_name.sha256 does not match wasm/$out_name" >&2
  status=1
fi
if ! cmp --silent "$built" "$committed"; then
  echo "check-wasm: rebuilt module differs from the committed wasm/$out_name" >&2
  echo "  rebuilt:   $hash" >&2
  echo "  committed: $(sha256sum "$committed" | cut -d' ' -f1)" >&2
  echo "  (rust-core changed without rebuilding, or the toolchain differs: $("$rustc_bin" --version))" >&2
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "check-wasm: wasm/$out_name matches a fresh build (sha256 $hash)"
fi
exit $status

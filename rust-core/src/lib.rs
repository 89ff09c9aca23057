//! sshwire's WebAssembly core: ChaCha20, Poly1305,
//! chacha20-poly1305@openssh.com and the post-quantum KEMs, exported as raw
//! `extern "C"` functions (see rust-core/ABI.md). no_std, no dependencies.
//!
//! This file only lists modules; exports live in the `abi_*` modules.
#![cfg_attr(not(test), no_std)]

// Shared plumbing.
pub mod codes;
mod ffi_util;
pub mod heap;
pub mod lanes;
pub mod lanes64;
pub mod mem;
mod panic;

// Symmetric primitives and the SSH packet cipher.
pub mod chacha20;
pub mod chachapoly;
pub mod poly1305;
pub mod poly1305x2;
// UMAC-64/128 (RFC 4418) for the umac-*@openssh.com MACs, with its AES-128.
pub mod umac;

// Post-quantum KEMs; their exports live in `mlkem::ffi` and `sntrup761::ffi`.
pub mod mlkem;
pub mod sntrup761;

// Exports.
pub mod abi_chachapoly;
pub mod abi_mem;
pub mod abi_raw;
pub mod abi_umac;

#[cfg(test)]
mod tests;

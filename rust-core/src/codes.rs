//! Return codes shared by every export (see rust-core/ABI.md).

/// Success.
pub const OK: i32 = 0;
/// Authentication tag mismatch.
pub const TAG_MISMATCH: i32 = -1;
/// Packet length not a multiple of the block size, too small, or above the caller's maximum.
pub const BAD_LENGTH: i32 = -2;
/// Bad argument: size, pointer or count.
pub const BAD_ARGUMENT: i32 = -3;
/// Out of memory, or a buffer too small.
pub const NO_MEMORY: i32 = -4;
/// Not a live context handle.
pub const BAD_CONTEXT: i32 = -5;

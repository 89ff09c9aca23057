//! Host tests (`cargo test`): published vectors, the packet construction,
//! the allocator, and the 4-lane code on its portable implementation.
mod alloc;
mod chachapoly;
mod hex;
mod poly1305x2;
mod rfc8439;

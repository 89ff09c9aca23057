//! The module's panic handler. Release builds abort on panic (no unwinding
//! tables in the wasm); the code is written so panics cannot happen on any
//! input, and if one did, trapping is the only safe outcome: the JS caller
//! sees a RuntimeError and drops the instance.

#[cfg(all(not(test), target_arch = "wasm32"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

// Host builds of the cdylib outside `cargo test` (e.g. `cargo check`) need
// a handler too; they are never run.
#[cfg(all(not(test), not(target_arch = "wasm32")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

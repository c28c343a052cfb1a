//! Gives the shared library its SONAME (libaoai.so.MAJOR) on Linux, so installed copies can be
//! versioned without a second, differently linked release build.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    // Release builds only: a debug library keeps its plain name, so tests and tools that link
    // target/debug with -laoai load it without a libaoai.so.MAJOR link.
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    if release && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaoai.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

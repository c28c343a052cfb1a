//! The committed header must match a fresh cbindgen run (`UPDATE_HEADER=1` rewrites it), and
//! its version macros must match Cargo.toml.

use std::path::Path;

fn generate() -> Vec<u8> {
    let root = env!("CARGO_MANIFEST_DIR");
    let config =
        cbindgen::Config::from_file(Path::new(root).join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    out
}

#[test]
fn header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/aoai.h");
    let fresh = generate();
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/aoai.h is stale: run `make header` (UPDATE_HEADER=1 cargo test --test header) and commit it"
    );
}

#[test]
fn header_version_matches_cargo() {
    let header = String::from_utf8(generate()).unwrap();
    let v: Vec<u32> = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    for (name, want) in [("MAJOR", v[0]), ("MINOR", v[1]), ("PATCH", v[2])] {
        let line = format!("#define AOAI_VERSION_{name} {want}\n");
        assert!(header.contains(&line), "header lacks `{}`", line.trim());
    }
    assert!(header.contains(&format!(
        "#define AOAI_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION")
    )));
    assert_eq!(
        (
            aoai::ffi::client::AOAI_VERSION_MAJOR,
            aoai::ffi::client::AOAI_VERSION_MINOR,
            aoai::ffi::client::AOAI_VERSION_PATCH
        ),
        (v[0], v[1], v[2]),
        "the Rust version constants differ from Cargo.toml"
    );
    assert_eq!(
        unsafe { aoai::ffi::client::aoai_version_number() },
        (v[0] << 16) | (v[1] << 8) | v[2]
    );
}

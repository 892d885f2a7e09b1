//! Installed Python wheels for test images: files, METADATA with Requires-Dist, WHEEL, RECORD.

use super::E;

pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub const SP: &str = "usr/local/lib/python3.11/site-packages";
pub const MANY: &str = "cp311-cp311-manylinux_2_17_x86_64";
pub const MIB: usize = 1 << 20;

/// An installed wheel: files, METADATA (with Requires-Dist), WHEEL tag, RECORD.
pub fn wheel(name: &str, version: &str, requires: &[&str], tag: &str, files: &[(&str, usize)]) -> Vec<E<'static>> {
    wheel_in(SP, name, version, requires, tag, files)
}

pub fn wheel_in(env: &str, name: &str, version: &str, requires: &[&str], tag: &str, files: &[(&str, usize)]) -> Vec<E<'static>> {
    let di = format!("{}-{version}.dist-info", name.replace('-', "_"));
    let mut meta = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        meta.push_str(&format!("Requires-Dist: {r}\n"));
    }
    let mut record = String::new();
    let mut out = Vec::new();
    for (i, (rel, size)) in files.iter().enumerate() {
        record.push_str(&format!("{rel},,\n"));
        // Distinct content per file so duplicate detection stays quiet.
        let mut data = vec![i as u8; *size];
        if let Some(b) = data.first_mut() {
            *b = name.len() as u8;
        }
        out.push(E::File(leak(format!("{env}/{rel}")), data));
    }
    record.push_str(&format!("{di}/METADATA,,\n{di}/WHEEL,,\n{di}/RECORD,,\n"));
    out.push(E::File(leak(format!("{env}/{di}/METADATA")), meta.into_bytes()));
    out.push(E::File(leak(format!("{env}/{di}/WHEEL")), format!("Wheel-Version: 1.0\nTag: {tag}\n").into_bytes()));
    out.push(E::File(leak(format!("{env}/{di}/RECORD")), record.into_bytes()));
    out
}


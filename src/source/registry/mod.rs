//! A small client of the distribution API (v2): manifests negotiated and pinned by digest,
//! config and layer blobs streamed, auth as registries ask for it, faults retried. It presents
//! the registry to the reader as an OCI layout (`index.json` + `blobs/sha256/<hex>`), so
//! platform choice and every digest check are the reader's own.
//!
//! Built on ureq (blocking, rustls): the reader is synchronous and threads already fetch
//! layers in parallel, so an async stack would add a runtime and nothing else.
//!
//! Here: the registry as a layout, and blobs that resume where their connection broke; the
//! HTTP client (TLS, retries, auth) is `client`.

mod client;

use super::Settings;
use super::reference::Reference;
use crate::escape::escape;
use crate::image::store::{META_LIMIT, Remote};
use client::{Client, Fetch, backoff};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;

/// Resumes of one blob after its connection broke mid-way.
pub const BLOB_RESUMES: u32 = 8;
/// Blobs fetched at once.
pub const PARALLEL: usize = 4;

/// The registry seen as an OCI layout by the reader.
pub struct Registry {
    client: Client,
    /// A one-entry index naming the manifest the reference points at.
    index: Vec<u8>,
    /// Manifests fetched, by digest.
    manifests: Mutex<HashMap<String, Vec<u8>>>,
    /// Digests that name manifests (fetched from /manifests/), not blobs.
    manifest_digests: Mutex<std::collections::HashSet<String>>,
    /// Sizes descriptors gave, by digest.
    sizes: Mutex<HashMap<String, u64>>,
}

impl Registry {
    pub fn open(reference: &Reference, settings: &Settings) -> Fetch<Registry> {
        let client = Client::connect(reference, settings)?;
        let (body, mt, digest) = client.manifest(reference.lookup())?;
        let mut annotations = serde_json::Map::new();
        annotations.insert("org.opencontainers.image.ref.name".into(), Value::String(reference.to_string()));
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{ "mediaType": mt, "digest": digest, "size": body.len(), "annotations": annotations }],
        });
        let reg = Registry { client, index: serde_json::to_vec(&index).expect("JSON"), manifests: Mutex::default(), manifest_digests: Mutex::default(), sizes: Mutex::default() };
        reg.learn(&body);
        reg.manifests.lock().unwrap().insert(digest, body);
        Ok(reg)
    }

    /// Note what a manifest or index names: child manifests, and every descriptor's size.
    fn learn(&self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(body) else { return };
        let mut sizes = self.sizes.lock().unwrap();
        let mut note = |d: &Value| {
            if let (Some(dg), Some(sz)) = (d.get("digest").and_then(Value::as_str), d.get("size").and_then(Value::as_u64)) {
                sizes.insert(dg.to_string(), sz);
            }
        };
        if let Some(list) = v.get("manifests").and_then(Value::as_array) {
            let mut known = self.manifest_digests.lock().unwrap();
            for d in list {
                note(d);
                if let Some(dg) = d.get("digest").and_then(Value::as_str) {
                    known.insert(dg.to_string());
                }
            }
        }
        if let Some(c) = v.get("config") {
            note(c);
        }
        for l in v.get("layers").and_then(Value::as_array).into_iter().flatten() {
            note(l);
        }
    }

    fn digest_of(name: &str) -> Option<String> {
        let rest = name.strip_prefix("blobs/")?;
        let (alg, hex) = rest.split_once('/')?;
        (!hex.contains('/')).then(|| format!("{alg}:{hex}"))
    }
}

impl Remote for Registry {
    fn meta(&self, name: &str) -> Result<Vec<u8>, String> {
        if name == "index.json" {
            return Ok(self.index.clone());
        }
        let digest = Self::digest_of(name).ok_or_else(|| format!("no file {} in a registry", escape(name)))?;
        if let Some(m) = self.manifests.lock().unwrap().get(&digest) {
            return Ok(m.clone());
        }
        if self.manifest_digests.lock().unwrap().contains(&digest) {
            let (body, _, _) = self.client.manifest(&digest)?;
            self.learn(&body);
            self.manifests.lock().unwrap().insert(digest, body.clone());
            return Ok(body);
        }
        if self.sizes.lock().unwrap().get(&digest).is_some_and(|&s| s > META_LIMIT) {
            return Err(format!("{name}: too large for a manifest or config"));
        }
        let mut out = Vec::new();
        let size = self.sizes.lock().unwrap().get(&digest).copied();
        let r = BlobReader::new(&self.client, &digest, size);
        r.take(META_LIMIT + 1).read_to_end(&mut out).map_err(|e| e.to_string())?;
        if out.len() as u64 > META_LIMIT {
            return Err(format!("{name}: too large for a manifest or config"));
        }
        Ok(out)
    }

    fn has(&self, name: &str) -> bool {
        name == "index.json" || Self::digest_of(name).is_some()
    }

    fn size_of(&self, name: &str) -> Option<u64> {
        self.sizes.lock().unwrap().get(&Self::digest_of(name)?).copied()
    }

    fn blob(&self, name: &str) -> Result<Box<dyn Read + Send + '_>, String> {
        let digest = Self::digest_of(name).ok_or_else(|| format!("no blob {} in a registry", escape(name)))?;
        let size = self.size_of(name);
        Ok(Box::new(BlobReader::new(&self.client, &digest, size)))
    }

    fn parallel(&self) -> usize {
        PARALLEL
    }
}

/// A blob as it arrives; a connection that breaks or stalls mid-way is resumed where it broke
/// (HTTP Range), or the blob fetched again and its first bytes skipped. Never more than the
/// size the manifest gives.
struct BlobReader<'a> {
    client: &'a Client,
    digest: String,
    size: Option<u64>,
    pos: u64,
    body: Option<ureq::BodyReader<'static>>,
    resumes: u32,
    /// Where the last fault happened: a resume that got nowhere waits longer.
    fault_at: Option<u64>,
    stuck: u32,
}

impl<'a> BlobReader<'a> {
    fn new(client: &'a Client, digest: &str, size: Option<u64>) -> Self {
        BlobReader { client, digest: digest.to_string(), size, pos: 0, body: None, resumes: 0, fault_at: None, stuck: 0 }
    }

    fn fault(&mut self, what: String) -> io::Result<()> {
        self.body = None;
        self.resumes += 1;
        if self.resumes > BLOB_RESUMES {
            return Err(io::Error::other(format!("blob {}: {what} at byte {}; gave up after {BLOB_RESUMES} resumes", self.digest, self.pos)));
        }
        self.stuck = if self.fault_at == Some(self.pos) { self.stuck + 1 } else { 0 };
        self.fault_at = Some(self.pos);
        std::thread::sleep(backoff(self.stuck));
        Ok(())
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.body.is_none() {
                let (mut body, skip) = self.client.open_blob(&self.digest, self.pos).map_err(io::Error::other)?;
                if skip > 0 {
                    let got = io::copy(&mut (&mut body).take(skip), &mut io::sink());
                    if got.as_ref().is_ok_and(|&n| n == skip) {
                        self.body = Some(body);
                    } else {
                        self.fault("the connection broke".into())?;
                        continue;
                    }
                } else {
                    self.body = Some(body);
                }
            }
            let body = self.body.as_mut().expect("opened above");
            match body.read(buf) {
                Ok(0) if self.size.is_some_and(|s| self.pos < s) => self.fault("the connection closed early".into())?,
                Ok(0) => return Ok(0),
                Ok(n) => {
                    if self.size.is_some_and(|s| self.pos + n as u64 > s) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("blob {}: the registry sent more than the {} bytes the manifest gives", self.digest, self.size.unwrap_or(0)),
                        ));
                    }
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.fault(e.to_string())?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_to_digests() {
        assert_eq!(Registry::digest_of("blobs/sha256/ab").as_deref(), Some("sha256:ab"));
        assert_eq!(Registry::digest_of("index.json"), None);
        assert_eq!(Registry::digest_of("blobs/sha256/a/b"), None);
    }
}

//! Reading layers from the store: scanned in parallel where the store allows and handed on in
//! layer order, and byte ranges hashed again for the duplicate finding.

use super::*;

impl Source {
    /// Scan the given layer blobs (in parallel where the store allows), in order.
    pub fn scan_layers(&self, names: &[String], capture: Capture, progress: &ProgressBar) -> Vec<std::result::Result<LayerScan, String>> {
        let mut out = Vec::with_capacity(names.len());
        self.scan_layers_each(names, capture, progress, &mut |_, r| out.push(r));
        out
    }

    /// Scan the given layer blobs (in parallel where the store allows) and hand each result to
    /// `each` in layer order, as soon as it and every layer below it are scanned: a caller that
    /// merges and drops each one holds the entries of the layers still waiting, not all of them.
    pub fn scan_layers_each(&self, names: &[String], capture: Capture, progress: &ProgressBar, each: &mut (dyn FnMut(usize, std::result::Result<LayerScan, String>) + Send)) {
        let missing = |n: &str| Err(format!("missing blob {n} in the image"));
        match &self.store {
            Store::Stream { scans, entries, other, .. } => {
                // Hand each layer's entries over rather than copy them (they are most of the
                // memory): the last use of a blob takes them, an earlier one (a blob listed
                // twice) gets a copy.
                let mut entries = entries.lock().unwrap();
                for (i, n) in names.iter().enumerate() {
                    let real = self.resolve_alias(n);
                    let r = match scans.get(real) {
                        Some(Ok(s)) => {
                            let last = !names[i + 1..].iter().any(|m| self.resolve_alias(m) == real);
                            let es = if last { entries.remove(real) } else { entries.get(real).cloned() };
                            es.ok_or_else(|| format!("layer {n} was handed over already")).map(|es| LayerScan { entries: es, ..s.clone() })
                        }
                        Some(Err(e)) => Err(e.clone()),
                        None if other.contains_key(real) => Err("not a layer: neither a tar archive nor gzip/zstd".into()),
                        None => missing(n),
                    };
                    each(i, r);
                }
            }
            _ => {
                let total: u64 = names.iter().filter_map(|n| self.size_of(n)).sum();
                progress.set_length(total);
                let next = AtomicUsize::new(0);
                // The next layer to hand over, the results waiting for it, and the receiver.
                let ordered = Mutex::new((0usize, std::collections::BTreeMap::new(), each));
                let workers = match &self.store {
                    // Fetching waits on the network more than on the cores.
                    Store::Remote(r) => r.parallel(),
                    _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
                }
                .min(names.len().max(1));
                // Largest blob first: the biggest layer is the critical path, and starting it
                // last would leave the other cores idle at the end.
                let mut order: Vec<usize> = (0..names.len()).collect();
                order.sort_by_key(|&i| std::cmp::Reverse(self.size_of(&names[i]).unwrap_or(0)));
                std::thread::scope(|s| {
                    for _ in 0..workers {
                        s.spawn(|| {
                            loop {
                                let k = next.fetch_add(1, Ordering::Relaxed);
                                let Some(&i) = order.get(k) else { break };
                                let r = self.scan_one(&names[i], capture, progress);
                                if let Ok(scan) = &r {
                                    if !scan.hashes.is_empty() {
                                        self.hashed.lock().unwrap().insert(self.resolve_alias(&names[i]).to_string(), scan.hashes.clone());
                                    }
                                }
                                let mut o = ordered.lock().unwrap();
                                let (at, waiting, each) = &mut *o;
                                waiting.insert(i, r);
                                while let Some(r) = waiting.remove(at) {
                                    each(*at, r);
                                    *at += 1;
                                }
                            }
                        });
                    }
                });
            }
        }
    }

    /// Scan one blob of a seekable store: an uncompressed one by walking its headers and
    /// seeking over file data, a compressed one by decoding it with its reading and hashing on
    /// a second thread.
    ///
    /// The header walk leaves readahead to the kernel: telling it the reads are random
    /// (POSIX_FADV_RANDOM) and reading the pages around each header in chunks of our own read
    /// 20-40% fewer bytes from disk but made cold runs 20-80% slower (bench/README.md).
    ///
    /// The progress bar moves as the walk reaches further into the blob (reads and seeks), so
    /// one large layer shows its progress too; each blob adds its size once in all.
    fn scan_one(&self, name: &str, capture: Capture, progress: &ProgressBar) -> std::result::Result<LayerScan, String> {
        let real = self.resolve_alias(name);
        let hash_tar = self.verify || !(self.digest_named.contains(name) || self.digest_named.contains(real));
        let scan = |file: &File, pos: u64, size: u64| {
            let head = compress::read_head(&mut Slice::new(file, pos, size), 8).map_err(|e| e.to_string())?;
            let mut done = 0;
            let blob = Advancing { inner: Slice::new(file, pos, size), pos: 0, done: &mut done, progress };
            let r = match Compression::sniff(&head) {
                Compression::None if self.verify => walk::scan_seekable(blob, size, capture, &self.budget).and_then(|mut s| {
                    // The blob is its own diff_id: one more read of it, in full.
                    let d = crate::io::blob::digest_reader("sha256:", Slice::new(file, pos, size)).map_err(|e| e.to_string())?;
                    s.digest = d.clone();
                    s.diff_digest = d;
                    Ok(s)
                }),
                Compression::None => walk::scan_seekable(blob, size, capture, &self.budget),
                // Read again where the hashing falls behind the decoder (see `Prefetched`).
                _ => walk::scan_prefetched(blob, Some(&Slice::new(file, pos, size)), capture, &self.budget, hash_tar),
            };
            progress.inc(size.saturating_sub(done));
            r
        };
        match &self.store {
            Store::File { file, index } => {
                let &(pos, size) = index.get(real).ok_or_else(|| format!("missing blob {name} in the image"))?;
                scan(file, pos, size)
            }
            Store::Dir { root } => {
                let f = self.open_blob(root, real)?;
                let len = f.metadata().map_err(|e| e.to_string())?.len();
                scan(&f, 0, len)
            }
            Store::Remote(r) => {
                // Read once as it arrives, hashed and decoded on the way (never stored).
                let blob = r.blob(real)?;
                let mut done = 0;
                let blob = Advancing { inner: blob, pos: 0, done: &mut done, progress };
                walk::scan_prefetched(blob, None, capture, &self.budget, hash_tar)
            }
            Store::Stream { .. } => unreachable!("stream layers are scanned while reading"),
        }
    }
}

/// A blob reader that moves the progress bar by how far into the blob it has got.
struct Advancing<'a, R> {
    inner: R,
    pos: u64,
    /// The furthest position reached, already added to the bar.
    done: &'a mut u64,
    progress: &'a ProgressBar,
}

impl<R> Advancing<'_, R> {
    fn reached(&mut self, pos: u64) {
        self.pos = pos;
        if pos > *self.done {
            self.progress.inc(pos - *self.done);
            *self.done = pos;
        }
    }
}

impl<R: Read> Read for Advancing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.reached(self.pos + n as u64);
        Ok(n)
    }
}

impl<R: io::Seek> io::Seek for Advancing<'_, R> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let p = self.inner.seek(to)?;
        self.reached(p);
        Ok(p)
    }
}

impl Source {
    /// xxh3-128 of byte ranges `(offset, len)` of a layer's uncompressed tar stream, read again
    /// from the input (only for duplicate detection, on the few files whose sizes collide).
    /// Ranges must be sorted by offset. A one-pass stream cannot be read again: None.
    pub fn hash_ranges(&self, name: &str, ranges: &[(u64, u64)]) -> Option<std::result::Result<Vec<u128>, String>> {
        let real = self.resolve_alias(name);
        // Files hashed while the layer was decoded need no second pass.
        let known = |hashes: &[(u64, u128)]| -> Option<Vec<u128>> {
            let by_offset: HashMap<u64, u128> = hashes.iter().copied().collect();
            ranges.iter().map(|(off, _)| by_offset.get(off).copied()).collect()
        };
        let memo = match &self.store {
            Store::Stream { scans, .. } => scans.get(real).and_then(|s| s.as_ref().ok()).and_then(|s| known(&s.hashes)),
            _ => self.hashed.lock().unwrap().get(real).and_then(|h| known(h)),
        };
        if let Some(hashes) = memo {
            return Some(Ok(hashes));
        }
        let run = |f: &File, start: u64, len: u64| -> std::result::Result<Vec<u128>, String> {
            let mut blob = Slice::new(f, start, len);
            let head = compress::read_head(&mut blob, 8).map_err(|e| e.to_string())?;
            let c = Compression::sniff(&head);
            if c == Compression::None {
                return ranges.iter().map(|&(off, n)| hash_reader(&mut Slice::new(f, start + off, n.min(len.saturating_sub(off))))).collect();
            }
            let blob = Slice::new(f, start, len);
            let mut r = compress::decoder(c, blob).map_err(|e| e.to_string())?;
            let mut pos = 0u64;
            let mut out = Vec::with_capacity(ranges.len());
            for &(off, n) in ranges {
                if off < pos {
                    return Err("ranges out of order".into());
                }
                io::copy(&mut (&mut r).take(off - pos), &mut io::sink()).map_err(|e| e.to_string())?;
                out.push(hash_reader(&mut (&mut r).take(n))?);
                pos = off + n;
            }
            Ok(out)
        };
        match &self.store {
            Store::File { file, index } => {
                let &(pos, size) = index.get(real)?;
                Some(run(file, pos, size))
            }
            Store::Dir { root } => {
                let f = match self.open_blob(root, real) {
                    Ok(f) => f,
                    Err(e) => return Some(Err(e)),
                };
                let len = f.metadata().ok()?.len();
                Some(run(&f, 0, len))
            }
            Store::Stream { .. } | Store::Remote(_) => None,
        }
    }
}

fn hash_reader<R: Read>(r: &mut R) -> std::result::Result<u128, String> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.digest128())
}

//! Give every file of the final filesystem exactly one owner: a Python distribution (by its
//! RECORD), a dpkg, conda or npm package, or else a named category. Models are reported on
//! top of that (a model inside a distribution stays the distribution's).
//!
//! Claims are settled by the layer of the metadata that made them: a file listed by two
//! owners goes to the one whose record came in the later layer; within a layer, Python beats
//! conda beats npm beats dpkg.

pub mod app_files;
pub mod categories;
pub mod dpkg;
pub mod groups;
pub mod models;
pub mod npm;
pub mod python;

use crate::layers::tree::{Kind, Tree};
use crate::model::analysis::{Group, Model, Owner};
use crate::show::display_path;
use hashbrown::HashMap;

/// The metadata files attribution reads, captured while layers are scanned (one pass).
pub fn wants(path: &[u8], size: u64) -> bool {
    if size > 32 << 20 {
        return false;
    }
    let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&path[..0], path),
    };
    let parent = dir.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if parent.ends_with(b".dist-info") {
        return matches!(name, b"RECORD" | b"METADATA" | b"WHEEL" | b"entry_points.txt" | b"top_level.txt" | b"direct_url.json");
    }
    if parent.ends_with(b".egg-info") {
        return matches!(name, b"PKG-INFO" | b"installed-files.txt" | b"top_level.txt" | b"requires.txt" | b"entry_points.txt");
    }
    if name.ends_with(b".egg-info") && size < 1 << 20 {
        // A distutils-era egg-info that is a single PKG-INFO file.
        return true;
    }
    if name == b"pyvenv.cfg" && size < 64 << 10 {
        return true;
    }
    if dir.ends_with(b"var/lib/apt") && name == b"extended_states" {
        return true;
    }
    if dir.ends_with(b"var/lib/dpkg") && name == b"status" {
        return true;
    }
    if dir.ends_with(b"var/lib/dpkg/info") && name.ends_with(b".list") {
        return true;
    }
    if parent == b"conda-meta" && name.ends_with(b".json") {
        return true;
    }
    if name == b"package.json" && path.split(|&b| b == b'/').any(|c| c == b"node_modules") {
        return true;
    }
    // `.pth` files (editable installs point at the app's source through them).
    if name.ends_with(b".pth") && (parent == b"site-packages" || parent == b"dist-packages") && size < 64 << 10 {
        return true;
    }
    // The app's own source and start scripts, for `slim why` and unused packages.
    app_files::is_app_source(path, size) || app_files::is_start_script(path, size)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnerKind {
    Dpkg,
    Npm,
    Conda,
    Python,
    Category,
}

impl OwnerKind {
    pub fn name(self) -> &'static str {
        match self {
            OwnerKind::Python => "python",
            OwnerKind::Dpkg => "dpkg",
            OwnerKind::Conda => "conda",
            OwnerKind::Npm => "npm",
            OwnerKind::Category => "category",
        }
    }
}

/// An owner while attribution runs.
#[derive(Debug, Clone)]
pub struct OwnerInfo {
    pub kind: OwnerKind,
    pub name: String,
    pub version: Option<String>,
    pub location: Option<String>,
    /// Files under a distribution's directories that its RECORD does not list.
    pub unrecorded: bool,
    pub editable: bool,
    /// Layer of the metadata that made the claim.
    pub layer: u16,
}

/// The result: owners, what each inode belongs to, groups and models.
pub struct Attribution {
    pub owners: Vec<OwnerInfo>,
    /// inode → owner index (every live inode has one).
    pub by_inode: Vec<u32>,
    pub groups: Vec<Group>,
    pub models: Vec<Model>,
    /// Python distributions as read, for later stages (dependency graph, rules).
    pub dists: Vec<python::Dist>,
    /// dpkg packages as read (every state), for later stages.
    pub dpkg: Vec<dpkg::Package>,
}

const NO_OWNER: u32 = u32::MAX;

/// Collects claims and settles them by (layer, kind).
pub struct Claims {
    pub owners: Vec<OwnerInfo>,
    best: Vec<(u32, u32)>,
}

impl Claims {
    fn new(inodes: usize) -> Self {
        Claims { owners: Vec::new(), best: vec![(NO_OWNER, 0); inodes] }
    }

    pub fn add_owner(&mut self, o: OwnerInfo) -> u32 {
        self.owners.push(o);
        (self.owners.len() - 1) as u32
    }

    /// `owner` claims the file at node `n` (if it is a live regular file).
    pub fn claim(&mut self, tree: &Tree, owner: u32, n: u32) -> bool {
        let node = &tree.nodes[n as usize];
        if node.kind != Kind::File {
            return false;
        }
        let o = &self.owners[owner as usize];
        let prio = (u32::from(o.layer) << 3) | o.kind as u32;
        let slot = &mut self.best[node.inode as usize];
        if slot.0 == NO_OWNER || prio >= slot.1 {
            *slot = (owner, prio);
        }
        true
    }

    pub fn owner_of(&self, tree: &Tree, n: u32) -> Option<u32> {
        let node = &tree.nodes[n as usize];
        if node.kind != Kind::File {
            return None;
        }
        let o = self.best[node.inode as usize].0;
        (o != NO_OWNER).then_some(o)
    }

    fn set(&mut self, inode: u32, owner: u32) {
        self.best[inode as usize] = (owner, 0);
    }
}

/// Attribute every final file of `tree`. `env` is the image config's environment
/// (`KEY=value`), for PYTHONPATH.
pub fn attribute(tree: &mut Tree, table: &groups::GroupTable, env: &[String]) -> Attribution {
    let mut claims = Claims::new(tree.inodes.len());
    let pythonpath: Vec<Vec<u8>> =
        env.iter().filter_map(|e| e.strip_prefix("PYTHONPATH=")).flat_map(|v| v.split(':')).map(|p| crate::layers::tree::lexical(p.as_bytes())).filter(|p| !p.is_empty()).collect();
    let dists = python::claim(tree, &mut claims, &pythonpath);
    let dpkg = dpkg::claim(tree, &mut claims);
    python::claim_conda(tree, &mut claims);
    python::claim_unrecorded(tree, &mut claims, &dists);
    npm::claim(tree, &mut claims);

    // Everything left goes to a category.
    let mut cats: HashMap<&'static str, u32> = HashMap::new();
    for n in tree.final_files() {
        if claims.owner_of(tree, n).is_some() {
            continue;
        }
        let path = tree.path(n);
        let cat = categories::category(&path);
        let id = *cats.entry(cat).or_insert_with(|| {
            claims.add_owner(OwnerInfo { kind: OwnerKind::Category, name: cat.into(), version: None, location: None, unrecorded: false, editable: false, layer: 0 })
        });
        let ino = tree.nodes[n as usize].inode;
        claims.set(ino, id);
    }
    let by_inode: Vec<u32> = claims.best.iter().map(|b| b.0).collect();
    let models = models::find(tree, &claims);
    let Claims { owners, .. } = claims;
    let groups = table.groups_for(&owners, tree, &by_inode);
    Attribution { owners, by_inode, groups, models, dists, dpkg }
}

/// Owners as rows of the report: bytes and files of the live inodes each one holds,
/// largest first (ties by kind and name, so output is stable).
pub fn owner_rows(tree: &Tree, a: &Attribution, table: &groups::GroupTable) -> Vec<Owner> {
    let mut bytes = vec![0u64; a.owners.len()];
    let mut files = vec![0u64; a.owners.len()];
    for (ino, i) in tree.inodes.iter().enumerate() {
        if i.links > 0 {
            let o = a.by_inode[ino] as usize;
            bytes[o] += i.size;
            files[o] += 1;
        }
    }
    let mut rows: Vec<Owner> = a
        .owners
        .iter()
        .enumerate()
        .filter(|(i, o)| !(o.unrecorded && files[*i] == 0))
        .map(|(i, o)| Owner {
            kind: o.kind.name().into(),
            name: o.name.clone(),
            version: o.version.clone(),
            bytes: bytes[i],
            files: files[i],
            location: o.location.clone(),
            group: table.group_of(o.kind, &o.name).map(str::to_string),
            unrecorded: o.unrecorded,
            editable: o.editable,
        })
        .collect();
    rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.kind.cmp(&b.kind)).then(a.name.cmp(&b.name)).then(a.location.cmp(&b.location)));
    rows
}

/// `/`-rooted display path of a node.
pub fn shown(tree: &Tree, n: u32) -> String {
    display_path(&tree.path(n))
}

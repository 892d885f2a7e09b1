//! The pipeline's facts, in a room of their own below the stages that read them: rules/,
//! dockerfile/ and the commands import this, not analyze.rs, which alone sequences the stages.

use crate::attribute::Attribution;
use crate::deps::Usage;
use crate::image::resolve::Image;
use crate::layers::tree::Tree;
use crate::model::analysis::Analysis;

/// Everything one analysis produced: the model, and the tree (for attribution and rules).
pub struct Analyzed {
    pub analysis: Analysis,
    /// What each finding's fix removes and adds, in `analysis.findings` order.
    pub plans: Vec<Plan>,
    pub attribution: Attribution,
    pub image: Image,
    pub tree: Tree,
    /// The app's code, what it imports and the dependency graphs (for `slim why` and rules).
    pub usage: Usage,
}

/// What a finding's fix does to the file model: the inodes it removes and the bytes it adds.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub removed: Vec<u32>,
    pub added: u64,
}

impl Analyzed {
    /// The facts `slim why` reads, borrowed.
    pub fn ask(&self) -> crate::deps::why::Ask<'_> {
        crate::deps::why::Ask { usage: &self.usage, attribution: &self.attribution, tree: &self.tree, analysis: &self.analysis }
    }
}

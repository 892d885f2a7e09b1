//! dev-tools: linters, formatters, test runners and hook managers (rules.toml `dev_tools`)
//! installed into the runtime image, often as an editable project's declared dependencies.
//! Found by name whether or not the app imports them: a test suite importing pytest does not
//! make pytest something the running app needs.

use super::view::View;
use super::{Draft, RuleSet, step};
use crate::facts::Analyzed;
use crate::model::analysis::Action;
use crate::show::human;

/// Is `file` (as shown) test code: under a tests directory, or test_*.py / conftest.py?
fn is_test_file(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    file.split('/').any(|c| c == "tests" || c == "test") || name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py"
}

pub fn find(set: &RuleSet, a: &Analyzed, out: &mut Vec<Draft>) {
    let u = &a.usage;
    let dists = &a.attribution.dists;
    let v = View::new(a);
    for (d, dist) in dists.iter().enumerate() {
        if !set.dev_tools.contains(&dist.name) || u.app_dists[d] {
            continue;
        }
        let gone = u.alone(d);
        let mut removed: Vec<u32> = Vec::new();
        for &g in &gone {
            removed.extend(&u.inodes[g]);
        }
        if removed.is_empty() {
            continue;
        }
        let mut notes = Vec::new();
        let runtime_sites: Vec<String> = u.sites[d].iter().filter(|s| !is_test_file(&s.file)).map(|s| s.place()).collect();
        let test_sites: Vec<String> = u.sites[d].iter().filter(|s| is_test_file(&s.file)).map(|s| s.place()).collect();
        if !test_sites.is_empty() {
            notes.push(format!("imported only by test code ({}): the running app does not need it", test_sites.join(", ")));
        }
        let needed_by: Vec<String> =
            u.graph.dependents(d).iter().filter(|(f, _)| u.used[*f] && !set.dev_tools.contains(&dists[*f].name)).map(|(f, _)| dists[*f].name.clone()).collect();
        let others: Vec<String> = gone.iter().filter(|&&g| g != d).map(|&g| dists[g].name.clone()).collect();
        if !others.is_empty() {
            notes.push(format!("goes with it: {}", others.join(", ")));
        }
        let layer = u64::from(a.attribution.owners[dist.owner as usize].layer);
        let (text, action) = if !runtime_sites.is_empty() {
            notes.push(format!("the app's own code imports it at {}", runtime_sites.join(", ")));
            (format!("{} is imported by the app's code outside its tests: check that before removing it.", dist.name), Action::AdviceOnly)
        } else if !needed_by.is_empty() {
            notes.push(format!("required by used {}", needed_by.join(", ")));
            (format!("{} is required by {}: it goes only with them.", dist.name, needed_by.join(", ")), Action::AdviceOnly)
        } else {
            (
                format!("Install {} only where it is used (a dev requirements file, a `dev` extra or dependency group, a test stage), not in the runtime image.", dist.name),
                Action::DropPackage { name: dist.name.clone() },
            )
        };
        out.push(Draft::new(
            "dev-tools",
            format!("{} {} is a development tool installed in the runtime image ({})", dist.name, dist.version, human(v.bytes(&removed))),
            removed.clone(),
            0,
            "Linters, formatters, test runners and hook managers run while developing or in CI, never in the running container; the saving is its files and what only it pulls in."
                .into(),
            v.evidence(&removed, gone.iter().map(|&g| format!("python:{}", dists[g].name)).collect(), vec![step(a, layer)], notes),
            text,
            action,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files() {
        assert!(is_test_file("/app/tests/test_api.py") && is_test_file("/app/conftest.py") && is_test_file("/app/x_test.py"));
        assert!(!is_test_file("/app/src/pkg/testing_utils.py") && !is_test_file("/app/main.py"));
    }
}

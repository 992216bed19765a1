//! Declarative tenant files: `roster seed tenant.yaml` and `roster serve --seed tenant.yaml`.
//!
//! A file names connections, clients, client grants, resource servers, roles, organizations
//! (the Auth0 Deploy CLI's `tenant.yaml` keys) and users (Roster's extension). Applying it makes
//! the tenant hold what it says, creating what is missing and updating what differs, so applying
//! it again changes nothing.
//!
//! It happens in three stages, so that a file with any problem is refused before anything is
//! written: `yaml` reads the file keeping each value's line; `plan` reads the database, resolves
//! names and checks every object with the same domain rules as the Management API, collecting
//! every problem with its line; only a plan without problems is carried out by `apply`.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::auth::token::Issuer;
use crate::store::Store;

mod apply;
pub(crate) mod plan;
#[cfg(test)]
mod property_tests;
mod yaml;

pub use apply::Applied;

/// Something wrong with a tenant file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    /// Where in the file (`roles[0].permissions[1]`); empty for the file as a whole.
    pub path: String,
    pub message: String,
}

/// Why a tenant file was refused (nothing of it was applied).
#[derive(Debug)]
pub struct Refused {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        writeln!(
            f,
            "{} is refused ({count} problem{}); nothing was applied:",
            self.file,
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            if problem.path.is_empty() {
                writeln!(f, "  {}:{}: {}", self.file, problem.line, problem.message)?;
            } else {
                writeln!(f, "  {}:{}: {}: {}", self.file, problem.line, problem.path, problem.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// Resolves a `##NAME##` keyword; `None` when it names none.
type Keyword = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Entries of `users` read ahead of the checks, at most.
const USERS_READ_AHEAD: usize = 2048;

/// Applies the tenant file at `path` to `store`. Keywords (`##NAME##`) come from the
/// environment, and `##ROSTER_DOMAIN##` is the domain the tenant serves.
///
/// The file is read twice, never held whole: once for its sections but `users` (few objects,
/// which users may name), then for its users, checked and written as they stream in.
pub async fn apply_file(store: &Store, issuer: &Issuer, domain: &str, path: &Path) -> anyhow::Result<Applied> {
    let file = path.display().to_string();
    let domain = domain.to_owned();
    let keyword: Keyword =
        Arc::new(
            move |name: &str| {
                if name == "ROSTER_DOMAIN" { Some(domain.clone()) } else { std::env::var(name).ok() }
            },
        );
    let open = {
        let path = path.to_owned();
        Arc::new(move || {
            File::open(&path)
                .map(BufReader::new)
                .with_context(|| format!("cannot read the tenant file {}", path.display()))
        })
    };
    let first = {
        let (open, keyword) = (open.clone(), keyword.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            // Quickly, passing the users over; again, whole, if that does not read cleanly.
            match yaml::read_without_users(open()?, &*keyword) {
                Ok((document, problems)) if problems.is_empty() => Ok(Ok((document, problems))),
                _ => Ok(yaml::read(open()?, &*keyword, Some(&mut drop))),
            }
        })
    };
    let (document, mut problems) = first.await??.map_err(|problems| Refused { file: file.clone(), problems })?;
    let (entries, users) = mpsc::channel(USERS_READ_AHEAD);
    // The second read streams the users to the plan, and finds their problems.
    let second = (document.streamed > 0).then(|| {
        let source = open();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Problem>> {
            let read = yaml::read(source?, &*keyword, Some(&mut |entry| drop(entries.blocking_send(entry))));
            Ok(match read {
                Ok((_, problems)) | Err(problems) => problems,
            })
        })
    });
    let planned = plan::plan(store, issuer, &document, users).await?;
    if let Some(second) = second {
        for problem in second.await?? {
            // The sections but users were read twice: their problems, twice.
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    match planned {
        Ok(plan) if problems.is_empty() => apply::apply(store, plan).await,
        Ok(plan) => {
            plan.abandon().await;
            problems.sort_by_key(|problem| problem.line);
            Err(Refused { file, problems }.into())
        }
        Err(found) => {
            problems.extend(found);
            problems.sort_by_key(|problem| problem.line);
            Err(Refused { file, problems }.into())
        }
    }
}

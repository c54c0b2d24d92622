//! The permission every RPC needs. The table below names each method of
//! our own services; `Policy::new` compares it with the compiled descriptor
//! set, so a method added to `proto/` without an entry here stops the
//! server from starting (and fails `tests/auth_matrix.rs`) instead of
//! being reachable by accident.

use std::collections::HashMap;

use anyhow::Context;
use prost::Message;
use prost_types::FileDescriptorSet;

use super::Scope;
use super::options::OpenService;

/// Our services' methods (`package.Service/Method`) and the scope each needs.
const NEWSWIRE_METHODS: &[(&str, Scope)] = &[
    ("newswire.v1.ArticleService/GetArticle", Scope::Read),
    ("newswire.v1.ArticleService/BatchGetArticles", Scope::Read),
    ("newswire.v1.ArticleService/ListArticles", Scope::Read),
    ("newswire.v1.ArticleService/StreamArticles", Scope::Read),
    ("newswire.v1.ArticleService/WatchArticles", Scope::Read),
    ("newswire.v1.ArticleService/CreateArticle", Scope::Write),
    ("newswire.v1.ArticleService/UpdateArticle", Scope::Write),
    ("newswire.v1.ArticleService/DeleteArticle", Scope::Write),
    ("newswire.v1.ArticleService/ImportArticles", Scope::Write),
];

/// What a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone, without credentials (opened by configuration).
    Open,
    /// A caller holding this scope.
    Scope(Scope),
}

/// Every served method (`/package.Service/Method`, as in the HTTP/2 path)
/// and what it needs. A path not in the policy is refused.
#[derive(Debug, Clone)]
pub struct Policy {
    methods: HashMap<String, Requirement>,
}

impl Policy {
    /// The policy of every method the server serves: ours from the table,
    /// health and reflection `read` unless `open` opens them.
    pub fn new(open: &[OpenService]) -> anyhow::Result<Self> {
        let mut methods = HashMap::new();
        let ours = methods_of(crate::proto::FILE_DESCRIPTOR_SET)?;
        let table: HashMap<&str, Scope> = NEWSWIRE_METHODS.iter().copied().collect();
        let missing: Vec<&String> = ours
            .iter()
            .filter(|method| !table.contains_key(method.as_str()))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "no access policy for {missing:?}: give each a scope in src/auth/policy.rs"
        );
        for (method, scope) in NEWSWIRE_METHODS {
            anyhow::ensure!(
                ours.iter().any(|served| served == method),
                "src/auth/policy.rs names {method}, which proto/ does not define"
            );
            methods.insert(format!("/{method}"), Requirement::Scope(*scope));
        }
        let infrastructure = [
            (OpenService::Health, tonic_health::pb::FILE_DESCRIPTOR_SET),
            (
                OpenService::Reflection,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            ),
            (
                OpenService::Reflection,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            ),
        ];
        for (service, descriptors) in infrastructure {
            let requirement = if open.contains(&service) {
                Requirement::Open
            } else {
                Requirement::Scope(Scope::Read)
            };
            for method in methods_of(descriptors)? {
                methods.insert(format!("/{method}"), requirement);
            }
        }
        Ok(Self { methods })
    }

    /// What the method at `path` (`/package.Service/Method`) needs; `None`
    /// for a method the server does not know.
    pub fn requirement(&self, path: &str) -> Option<Requirement> {
        self.methods.get(path).copied()
    }

    /// Every method with a policy, as `/package.Service/Method`, sorted.
    pub fn methods(&self) -> Vec<String> {
        let mut methods: Vec<String> = self.methods.keys().cloned().collect();
        methods.sort();
        methods
    }
}

/// `package.Service/Method` of every method in an encoded descriptor set.
pub fn methods_of(encoded_descriptor_set: &[u8]) -> anyhow::Result<Vec<String>> {
    let set = FileDescriptorSet::decode(encoded_descriptor_set)
        .context("decoding a compiled descriptor set")?;
    let mut methods = Vec::new();
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            for method in &service.method {
                methods.push(format!("{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    Ok(methods)
}

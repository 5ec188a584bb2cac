//! Verified tokens, remembered by the SHA-256 of (API family, token) until they expire, so a
//! client that sends the same token many times pays for one signature check. Bounded: two
//! generations of at most `capacity / 2` entries each; when the young one fills, the old one
//! is dropped. Holds principals and hashes, never a token.

use super::principal::Principal;
use super::verify::Family;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

pub type TokenHash = [u8; 32];

/// The cache key of `token` presented to `family`.
pub fn token_hash(family: Family, token: &str) -> TokenHash {
    let tag: u8 = match family {
        Family::Graph => 1,
        Family::PartnerCenter => 2,
        Family::Ingest => 3,
    };
    let mut h = Sha256::new();
    h.update([tag]);
    h.update(token.as_bytes());
    h.finalize().into()
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    /// Index of the issuer in the verifier, and the key that signed: the entry is only used
    /// while that key is still trusted.
    pub issuer: usize,
    pub kid: Option<String>,
    pub nbf: Option<i64>,
    pub exp: i64,
}

#[derive(Default)]
struct Generations {
    young: HashMap<TokenHash, Verified>,
    old: HashMap<TokenHash, Verified>,
}

pub struct TokenCache {
    capacity: usize,
    inner: Mutex<Generations>,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens; 0 disables it.
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache {
            capacity,
            inner: Mutex::new(Generations::default()),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn get(&self, key: &TokenHash) -> Option<Verified> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.inner.lock().ok()?;
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let v = g.old.remove(key)?;
        self.put(&mut g, *key, v.clone());
        Some(v)
    }

    pub fn insert(&self, key: TokenHash, v: Verified) {
        if self.capacity == 0 {
            return;
        }
        if let Ok(mut g) = self.inner.lock() {
            self.put(&mut g, key, v);
        }
    }

    pub fn remove(&self, key: &TokenHash) {
        if let Ok(mut g) = self.inner.lock() {
            g.young.remove(key);
            g.old.remove(key);
        }
    }

    fn put(&self, g: &mut Generations, key: TokenHash, v: Verified) {
        let half = self.capacity.div_ceil(2);
        if g.young.len() >= half && !g.young.contains_key(&key) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, v);
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .map(|g| g.young.len() + g.old.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::Grant;

    fn verified(n: i64) -> Verified {
        Verified {
            principal: Principal {
                tenant_id: "t".into(),
                object_id: format!("u{n}"),
                upn: None,
                app_id: None,
                grant: Grant::Application { roles: vec![] },
                directory_roles: vec![],
                mfa: false,
                tenants: vec!["t".into()],
                expires_at: n,
            },
            issuer: 0,
            kid: None,
            nbf: None,
            exp: n,
        }
    }

    #[test]
    fn bounded_and_recently_used_entries_survive() {
        let c = TokenCache::new(4);
        let k = |i: i64| token_hash(Family::Graph, &format!("token-{i}"));
        for i in 0..100 {
            c.insert(k(i), verified(i));
            // Entry 0 is used all the time and so stays.
            assert!(c.get(&k(0)).is_some(), "after {i}");
            assert!(c.len() <= 4);
        }
        assert!(c.get(&k(1)).is_none());
        assert_eq!(c.get(&k(99)).map(|v| v.exp), Some(99));
    }

    #[test]
    fn the_family_is_part_of_the_key_and_zero_capacity_disables() {
        assert_ne!(
            token_hash(Family::Graph, "x"),
            token_hash(Family::Ingest, "x")
        );
        let c = TokenCache::new(0);
        c.insert(token_hash(Family::Graph, "x"), verified(1));
        assert!(c.get(&token_hash(Family::Graph, "x")).is_none());
        assert!(c.is_empty());
    }
}

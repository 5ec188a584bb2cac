//! Registration reports computed over the directory: `getCredentialUserRegistrationCount`,
//! `usersRegisteredByFeature` and `usersRegisteredByMethod`.

use crate::directory::DirectoryUser;
use std::collections::BTreeMap;

/// Counts over one tenant's directory. `total` counts enabled accounts; every other count is
/// taken over those same enabled accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationSummary {
    pub total: u64,
    pub sspr_registered: u64,
    pub sspr_enabled: u64,
    pub sspr_capable: u64,
    pub mfa_registered: u64,
    pub mfa_capable: u64,
    pub passwordless_capable: u64,
    /// Method name → number of enabled users with it registered.
    pub by_method: BTreeMap<String, u64>,
}

impl RegistrationSummary {
    pub fn add(&mut self, u: &DirectoryUser) {
        if !u.account_enabled {
            return;
        }
        self.total += 1;
        self.sspr_registered += u.is_sspr_registered as u64;
        self.sspr_enabled += u.is_sspr_enabled as u64;
        self.sspr_capable += u.is_sspr_capable as u64;
        self.mfa_registered += u.is_mfa_registered as u64;
        self.mfa_capable += u.is_mfa_capable as u64;
        self.passwordless_capable += u.is_passwordless_capable as u64;
        for m in &u.methods_registered {
            *self.by_method.entry(m.clone()).or_default() += 1;
        }
    }
}

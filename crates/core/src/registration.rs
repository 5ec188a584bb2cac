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

crate::directory::graph_enum!(
    /// Graph `includedUserTypes`: which accounts a registration summary covers.
    IncludedUserTypes, "includedUserTypes" {
        All = "all",
        Member = "member",
        Guest = "guest",
        UnknownFutureValue = "unknownFutureValue",
    }
);

crate::directory::graph_enum!(
    /// Graph `includedUserRoles`: which roles a registration summary covers.
    IncludedUserRoles, "includedUserRoles" {
        All = "all",
        PrivilegedAdmin = "privilegedAdmin",
        Admin = "admin",
        User = "user",
        UnknownFutureValue = "unknownFutureValue",
    }
);

crate::directory::graph_enum!(
    /// Graph `authenticationMethodFeature`, in the order `usersRegisteredByFeature` lists them.
    AuthenticationMethodFeature, "feature" {
        SsprRegistered = "ssprRegistered",
        SsprEnabled = "ssprEnabled",
        SsprCapable = "ssprCapable",
        PasswordlessCapable = "passwordlessCapable",
        MfaCapable = "mfaCapable",
    }
);

/// The population a `usersRegisteredBy*` summary counts.
///
/// The directory records only whether a user holds an admin role (`isAdmin`), not which one,
/// so `privilegedAdmin` selects the same users as `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Population {
    pub types: IncludedUserTypes,
    pub roles: IncludedUserRoles,
}

impl Default for Population {
    fn default() -> Self {
        Population {
            types: IncludedUserTypes::All,
            roles: IncludedUserRoles::All,
        }
    }
}

impl Population {
    pub fn includes(&self, u: &DirectoryUser) -> bool {
        use crate::directory::UserType;
        let type_ok = match self.types {
            IncludedUserTypes::All => true,
            IncludedUserTypes::Member => u.user_type == UserType::Member,
            IncludedUserTypes::Guest => u.user_type == UserType::Guest,
            IncludedUserTypes::UnknownFutureValue => false,
        };
        let role_ok = match self.roles {
            IncludedUserRoles::All => true,
            IncludedUserRoles::PrivilegedAdmin | IncludedUserRoles::Admin => u.is_admin,
            IncludedUserRoles::User => !u.is_admin,
            IncludedUserRoles::UnknownFutureValue => false,
        };
        type_ok && role_ok
    }
}

impl RegistrationSummary {
    /// `userRegistrationFeatureCounts`: one count per feature, every feature listed.
    pub fn feature_counts(&self) -> Vec<(AuthenticationMethodFeature, u64)> {
        AuthenticationMethodFeature::ALL
            .iter()
            .map(|&f| {
                let n = match f {
                    AuthenticationMethodFeature::SsprRegistered => self.sspr_registered,
                    AuthenticationMethodFeature::SsprEnabled => self.sspr_enabled,
                    AuthenticationMethodFeature::SsprCapable => self.sspr_capable,
                    AuthenticationMethodFeature::PasswordlessCapable => self.passwordless_capable,
                    AuthenticationMethodFeature::MfaCapable => self.mfa_capable,
                };
                (f, n)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::UserType;
    use crate::time::parse_datetime;

    fn user(id: &str, guest: bool, admin: bool, enabled: bool, methods: &[&str]) -> DirectoryUser {
        let j = serde_json::json!({
            "id": id, "tenantId": "t", "userPrincipalName": format!("{id}@x.example"),
            "userType": if guest { "guest" } else { "member" }, "isAdmin": admin,
            "accountEnabled": enabled, "isMfaRegistered": !methods.is_empty(),
            "isSsprEnabled": true, "methodsRegistered": methods,
        });
        DirectoryUser::from_json(
            j.to_string().as_bytes(),
            None,
            parse_datetime("2026-11-23T00:00:00Z").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn populations_select_by_type_and_role() {
        let m = user("m", false, false, true, &[]);
        let g = user("g", true, false, true, &[]);
        let a = user("a", false, true, true, &[]);
        assert_eq!(g.user_type, UserType::Guest);
        let pick = |types, roles| {
            let p = Population { types, roles };
            [&m, &g, &a]
                .iter()
                .filter(|u| p.includes(u))
                .map(|u| u.id.as_str())
                .collect::<Vec<_>>()
        };
        use IncludedUserRoles as R;
        use IncludedUserTypes as T;
        assert_eq!(pick(T::All, R::All), ["m", "g", "a"]);
        assert_eq!(pick(T::Guest, R::All), ["g"]);
        assert_eq!(pick(T::Member, R::User), ["m"]);
        assert_eq!(pick(T::All, R::Admin), ["a"]);
        assert_eq!(pick(T::All, R::PrivilegedAdmin), ["a"]);
        assert!(pick(T::UnknownFutureValue, R::All).is_empty());
    }

    #[test]
    fn features_are_all_listed_and_disabled_accounts_left_out() {
        let mut s = RegistrationSummary::default();
        s.add(&user("a", false, false, true, &["fido2SecurityKey"]));
        s.add(&user("b", false, false, true, &[]));
        s.add(&user("c", false, false, false, &["fido2SecurityKey"]));
        assert_eq!(s.total, 2);
        let f = s.feature_counts();
        assert_eq!(f.len(), 5);
        assert_eq!(f[0].0.as_str(), "ssprRegistered");
        assert_eq!(
            f.iter()
                .find(|x| x.0 == AuthenticationMethodFeature::PasswordlessCapable),
            Some(&(AuthenticationMethodFeature::PasswordlessCapable, 1))
        );
        assert_eq!(s.by_method.get("fido2SecurityKey"), Some(&1));
    }
}

//! The permission table: for every operation, the delegated scopes, application roles and
//! directory roles that allow it. `docs/permissions.md` renders the same table; a test keeps
//! the two in step.

use super::principal::Principal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub name: &'static str,
    pub template_id: &'static str,
}

pub const GLOBAL_ADMINISTRATOR: Role = Role {
    name: "Global Administrator",
    template_id: "62e90394-69f5-4237-9190-012177145e10",
};
pub const GLOBAL_READER: Role = Role {
    name: "Global Reader",
    template_id: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
};
pub const REPORTS_READER: Role = Role {
    name: "Reports Reader",
    template_id: "4a5d8f65-41da-4de4-8968-e035b65339cf",
};
pub const SECURITY_ADMINISTRATOR: Role = Role {
    name: "Security Administrator",
    template_id: "194ae4cb-b126-40b2-bd5b-6091b380977d",
};
pub const SECURITY_OPERATOR: Role = Role {
    name: "Security Operator",
    template_id: "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
};
pub const SECURITY_READER: Role = Role {
    name: "Security Reader",
    template_id: "5d6b6bb7-de71-4623-b4af-96380a352509",
};
pub const AUTHENTICATION_ADMINISTRATOR: Role = Role {
    name: "Authentication Administrator",
    template_id: "c4e39bd9-1100-46d3-8c65-fb160da0071f",
};
pub const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: Role = Role {
    name: "Privileged Authentication Administrator",
    template_id: "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
};

pub const ALL_ROLES: &[Role] = &[
    GLOBAL_ADMINISTRATOR,
    GLOBAL_READER,
    REPORTS_READER,
    SECURITY_ADMINISTRATOR,
    SECURITY_OPERATOR,
    SECURITY_READER,
    AUTHENTICATION_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
];

/// A role by display name (any case, spaces optional) or template id.
pub fn role_by_name_or_id(s: &str) -> Option<Role> {
    let norm = |x: &str| x.replace([' ', '-', '_'], "").to_ascii_lowercase();
    ALL_ROLES
        .iter()
        .copied()
        .find(|r| r.template_id.eq_ignore_ascii_case(s) || norm(r.name) == norm(s))
}

/// Roles that may read sign-in reports (seed 002).
const REPORT_READERS: &[Role] = &[
    GLOBAL_READER,
    REPORTS_READER,
    SECURITY_ADMINISTRATOR,
    SECURITY_OPERATOR,
    SECURITY_READER,
    GLOBAL_ADMINISTRATOR,
];
const AUTH_ADMINS_READ: &[Role] = &[
    AUTHENTICATION_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    GLOBAL_READER,
    GLOBAL_ADMINISTRATOR,
];
const AUTH_ADMINS_WRITE: &[Role] = &[
    AUTHENTICATION_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    GLOBAL_ADMINISTRATOR,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ReadServiceActivity,
    ReadCredentialRegistration,
    ReadUserRegistrationDetails,
    ReadSignInPreferences,
    WriteSignInPreferences,
    ReadRequirements,
    WriteRequirements,
    ReadNonMfaPrincipals,
    Ingest,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub operation: Operation,
    pub endpoints: &'static [&'static str],
    /// Any one of these delegated scopes; empty means delegated tokens are refused.
    pub delegated_scopes: &'static [&'static str],
    /// Any one of these application roles; empty means app-only tokens are refused.
    pub application_roles: &'static [&'static str],
    /// A delegated caller must also hold one of these roles (empty: none needed).
    pub delegated_roles: &'static [Role],
    /// A delegated caller acting on another user must hold one of these roles.
    pub delegated_roles_for_others: &'static [Role],
}

pub const TABLE: &[Rule] = &[
    Rule {
        operation: Operation::ReadServiceActivity,
        endpoints: &["GET /beta/reports/serviceActivity/getMetricsFor*(...)"],
        delegated_scopes: &["Reports.Read.All"],
        application_roles: &["Reports.Read.All"],
        delegated_roles: REPORT_READERS,
        delegated_roles_for_others: &[],
    },
    Rule {
        operation: Operation::ReadCredentialRegistration,
        endpoints: &["GET /beta/reports/getCredentialUserRegistrationCount[()]"],
        delegated_scopes: &["Reports.Read.All"],
        application_roles: &["Reports.Read.All"],
        delegated_roles: REPORT_READERS,
        delegated_roles_for_others: &[],
    },
    Rule {
        operation: Operation::ReadUserRegistrationDetails,
        endpoints: &[
            "GET /beta/reports/authenticationMethods/userRegistrationDetails[/{id}]",
            "GET /beta/reports/authenticationMethods/usersRegisteredByFeature(...)",
            "GET /beta/reports/authenticationMethods/usersRegisteredByMethod(...)",
        ],
        delegated_scopes: &["AuditLog.Read.All"],
        application_roles: &["AuditLog.Read.All"],
        delegated_roles: REPORT_READERS,
        delegated_roles_for_others: &[],
    },
    Rule {
        operation: Operation::ReadSignInPreferences,
        endpoints: &["GET /beta/users/{id|upn}/authentication/signInPreferences"],
        delegated_scopes: &[
            "UserAuthenticationMethod.Read",
            "UserAuthenticationMethod.ReadWrite",
            "UserAuthenticationMethod.Read.All",
            "UserAuthenticationMethod.ReadWrite.All",
        ],
        application_roles: &[
            "UserAuthenticationMethod.Read",
            "UserAuthenticationMethod.ReadWrite",
            "UserAuthenticationMethod.Read.All",
            "UserAuthenticationMethod.ReadWrite.All",
        ],
        delegated_roles: &[],
        delegated_roles_for_others: AUTH_ADMINS_READ,
    },
    Rule {
        operation: Operation::WriteSignInPreferences,
        endpoints: &["PATCH /beta/users/{id|upn}/authentication/signInPreferences"],
        delegated_scopes: &[
            "UserAuthenticationMethod.ReadWrite",
            "UserAuthenticationMethod.ReadWrite.All",
        ],
        application_roles: &[
            "UserAuthenticationMethod.ReadWrite",
            "UserAuthenticationMethod.ReadWrite.All",
        ],
        delegated_roles: &[],
        delegated_roles_for_others: AUTH_ADMINS_WRITE,
    },
    Rule {
        operation: Operation::ReadRequirements,
        endpoints: &[
            "GET /beta/users/{id|upn}/authentication/requirements",
            "GET /beta/me/authentication/requirements",
        ],
        delegated_scopes: &["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"],
        application_roles: &["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"],
        delegated_roles: &[],
        delegated_roles_for_others: AUTH_ADMINS_READ,
    },
    Rule {
        operation: Operation::WriteRequirements,
        endpoints: &[
            "PATCH /beta/users/{id|upn}/authentication/requirements",
            "PATCH /beta/me/authentication/requirements",
        ],
        delegated_scopes: &["Policy.ReadWrite.AuthenticationMethod"],
        application_roles: &["Policy.ReadWrite.AuthenticationMethod"],
        delegated_roles: &[],
        delegated_roles_for_others: AUTH_ADMINS_WRITE,
    },
    Rule {
        operation: Operation::ReadNonMfaPrincipals,
        endpoints: &[
            "GET /v1/nonMfaCompliantPartnerPrincipals",
            "GET /pcapi/v1/nonMfaCompliantPartnerPrincipals",
            "GET /v1/nonMfaCompliantPartnerPrincipals/details (mfalens extension)",
        ],
        delegated_scopes: &["user_impersonation"],
        application_roles: &[],
        delegated_roles: &[],
        delegated_roles_for_others: &[],
    },
    Rule {
        operation: Operation::Ingest,
        endpoints: &["POST /ingest/signins", "POST /ingest/users"],
        delegated_scopes: &[],
        application_roles: &["MfaLens.Ingest"],
        delegated_roles: &[],
        delegated_roles_for_others: &[],
    },
];

pub fn rule(op: Operation) -> &'static Rule {
    // Every Operation has a row; the table test proves it.
    TABLE
        .iter()
        .find(|r| r.operation == op)
        .unwrap_or(&TABLE[0])
}

/// Whom the operation acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Tenant-wide data (reports).
    Tenant,
    /// One user, by object id.
    User(&'a str),
    /// The signed-in user through `/me`: there is none in an application token.
    Me,
}

/// The tenant of personal Microsoft accounts; Graph refuses them for these APIs.
pub const PERSONAL_ACCOUNTS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("application tokens are not allowed here; sign in as a user (delegated)")]
    ApplicationNotAllowed,
    #[error("delegated tokens are not allowed here; use an application token")]
    DelegatedNotAllowed,
    #[error("the token lacks a required permission: one of {0}")]
    MissingPermission(String),
    #[error("the signed-in user lacks a required directory role: one of {0}")]
    MissingRole(String),
    #[error("/me request is only valid with delegated authentication flow.")]
    MeRequiresDelegated,
    #[error("personal Microsoft accounts are not supported by this API")]
    PersonalAccount,
}

pub fn authorize(p: &Principal, op: Operation, target: Target<'_>) -> Result<(), Denied> {
    let r = rule(op);
    if target == Target::Me && !p.is_delegated() {
        return Err(Denied::MeRequiresDelegated);
    }
    if p.is_delegated() {
        if p.tenant_id.eq_ignore_ascii_case(PERSONAL_ACCOUNTS_TENANT) {
            return Err(Denied::PersonalAccount);
        }
        if r.delegated_scopes.is_empty() {
            return Err(Denied::DelegatedNotAllowed);
        }
        if !r.delegated_scopes.iter().any(|s| p.has_scope(s)) {
            return Err(Denied::MissingPermission(r.delegated_scopes.join(", ")));
        }
        let holds = |roles: &[Role]| {
            roles
                .iter()
                .any(|role| p.has_directory_role(role.template_id))
        };
        if !r.delegated_roles.is_empty() && !holds(r.delegated_roles) {
            return Err(Denied::MissingRole(names(r.delegated_roles)));
        }
        if let Target::User(uid) = target
            && !uid.eq_ignore_ascii_case(&p.object_id)
            && !r.delegated_roles_for_others.is_empty()
            && !holds(r.delegated_roles_for_others)
        {
            return Err(Denied::MissingRole(names(r.delegated_roles_for_others)));
        }
        Ok(())
    } else {
        if r.application_roles.is_empty() {
            return Err(Denied::ApplicationNotAllowed);
        }
        if !r.application_roles.iter().any(|s| p.has_app_role(s)) {
            return Err(Denied::MissingPermission(r.application_roles.join(", ")));
        }
        Ok(())
    }
}

fn names(roles: &[Role]) -> String {
    roles.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::Grant;

    fn delegated(scopes: &[&str], wids: &[&str]) -> Principal {
        Principal {
            tenant_id: "t".into(),
            object_id: "me".into(),
            upn: Some("me@x".into()),
            app_id: None,
            grant: Grant::Delegated {
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
            directory_roles: wids.iter().map(|s| s.to_string()).collect(),
            mfa: true,
            tenants: vec!["t".into()],
            expires_at: 0,
        }
    }

    fn app(roles: &[&str]) -> Principal {
        let mut p = delegated(&[], &[]);
        p.grant = Grant::Application {
            roles: roles.iter().map(|s| s.to_string()).collect(),
        };
        p
    }

    #[test]
    fn every_operation_has_exactly_one_row() {
        use Operation::*;
        for op in [
            ReadServiceActivity,
            ReadCredentialRegistration,
            ReadUserRegistrationDetails,
            ReadSignInPreferences,
            WriteSignInPreferences,
            ReadRequirements,
            WriteRequirements,
            ReadNonMfaPrincipals,
            Ingest,
        ] {
            assert_eq!(
                TABLE.iter().filter(|r| r.operation == op).count(),
                1,
                "{op:?}"
            );
        }
    }

    #[test]
    fn reports_need_scope_and_a_reader_role_when_delegated() {
        let op = Operation::ReadServiceActivity;
        assert!(
            authorize(
                &delegated(&["Reports.Read.All"], &[REPORTS_READER.template_id]),
                op,
                Target::Tenant
            )
            .is_ok()
        );
        assert!(matches!(
            authorize(&delegated(&["Reports.Read.All"], &[]), op, Target::Tenant),
            Err(Denied::MissingRole(_))
        ));
        assert!(matches!(
            authorize(
                &delegated(&["User.Read"], &[REPORTS_READER.template_id]),
                op,
                Target::Tenant
            ),
            Err(Denied::MissingPermission(_))
        ));
        assert!(authorize(&app(&["Reports.Read.All"]), op, Target::Tenant).is_ok());
        assert!(authorize(&app(&["User.Read.All"]), op, Target::Tenant).is_err());
    }

    #[test]
    fn self_needs_no_admin_role_others_do() {
        let op = Operation::ReadSignInPreferences;
        let p = delegated(&["UserAuthenticationMethod.Read"], &[]);
        assert!(authorize(&p, op, Target::User("ME")).is_ok());
        assert!(matches!(
            authorize(&p, op, Target::User("other")),
            Err(Denied::MissingRole(_))
        ));
        let admin = delegated(
            &["UserAuthenticationMethod.Read"],
            &[AUTHENTICATION_ADMINISTRATOR.template_id],
        );
        assert!(authorize(&admin, op, Target::User("other")).is_ok());
        let reader = delegated(
            &["UserAuthenticationMethod.ReadWrite"],
            &[GLOBAL_READER.template_id],
        );
        assert!(
            authorize(
                &reader,
                Operation::WriteSignInPreferences,
                Target::User("other")
            )
            .is_err()
        );
        assert!(
            authorize(
                &delegated(&["UserAuthenticationMethod.Read"], &[]),
                Operation::WriteSignInPreferences,
                Target::User("me")
            )
            .is_err()
        );
    }

    #[test]
    fn partner_center_is_app_plus_user_only_and_ingest_app_only() {
        assert_eq!(
            authorize(
                &app(&["user_impersonation"]),
                Operation::ReadNonMfaPrincipals,
                Target::Tenant
            ),
            Err(Denied::ApplicationNotAllowed)
        );
        assert!(
            authorize(
                &delegated(&["user_impersonation"], &[]),
                Operation::ReadNonMfaPrincipals,
                Target::Tenant
            )
            .is_ok()
        );
        assert_eq!(
            authorize(
                &delegated(&["MfaLens.Ingest"], &[]),
                Operation::Ingest,
                Target::Tenant
            ),
            Err(Denied::DelegatedNotAllowed)
        );
        assert!(authorize(&app(&["MfaLens.Ingest"]), Operation::Ingest, Target::Tenant).is_ok());
    }

    #[test]
    fn me_needs_a_user_and_personal_accounts_are_refused() {
        let op = Operation::ReadRequirements;
        assert_eq!(
            authorize(&app(&["Policy.Read.All"]), op, Target::Me),
            Err(Denied::MeRequiresDelegated)
        );
        assert!(authorize(&delegated(&["Policy.Read.All"], &[]), op, Target::Me).is_ok());
        assert!(authorize(&app(&["Policy.Read.All"]), op, Target::User("someone")).is_ok());
        let mut msa = delegated(&["Policy.Read.All"], &[]);
        msa.tenant_id = PERSONAL_ACCOUNTS_TENANT.into();
        assert_eq!(
            authorize(&msa, op, Target::Me),
            Err(Denied::PersonalAccount)
        );
    }

    #[test]
    fn roles_by_name_or_template_id() {
        assert_eq!(role_by_name_or_id("reports reader"), Some(REPORTS_READER));
        assert_eq!(role_by_name_or_id("ReportsReader"), Some(REPORTS_READER));
        assert_eq!(
            role_by_name_or_id(GLOBAL_READER.template_id),
            Some(GLOBAL_READER)
        );
        assert_eq!(role_by_name_or_id("Chief Wizard"), None);
    }
}

//! Column names both backends' `users` tables share (the schemas keep them identical).

use crate::UserFlag;

pub fn flag_column(f: UserFlag) -> &'static str {
    match f {
        UserFlag::IsAdmin => "is_admin",
        UserFlag::IsMfaRegistered => "is_mfa_registered",
        UserFlag::IsMfaCapable => "is_mfa_capable",
        UserFlag::IsSsprRegistered => "is_sspr_registered",
        UserFlag::IsSsprEnabled => "is_sspr_enabled",
        UserFlag::IsSsprCapable => "is_sspr_capable",
        UserFlag::IsPasswordlessCapable => "is_passwordless_capable",
        UserFlag::IsSystemPreferredAuthenticationMethodEnabled => "system_preferred",
        UserFlag::AccountEnabled => "account_enabled",
    }
}

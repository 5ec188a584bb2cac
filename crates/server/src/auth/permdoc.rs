//! The permission table rendered as markdown for `docs/permissions.md`, and the test that
//! keeps that page equal to `policy::TABLE`. Reads the table; decides nothing.

use super::policy::{Role, Rule, TABLE};

/// The table as the markdown `docs/permissions.md` carries (a unit test keeps them equal):
/// one row per endpoint.
pub fn render_markdown() -> String {
    let list = |xs: &[&str]| {
        if xs.is_empty() {
            "— (refused)".to_string()
        } else {
            xs.iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let roles = |rs: &[Role]| {
        rs.iter()
            .map(|r| format!("{} (`{}`)", r.name, r.template_id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::from(
        "| Endpoint | Delegated scopes (any one) | Application roles (any one) | Directory roles (delegated callers; any one) | Self / other |\n\
         |---|---|---|---|---|\n",
    );
    for r in TABLE {
        let dir = match (
            r.delegated_roles.is_empty(),
            r.delegated_roles_for_others.is_empty(),
        ) {
            (true, true) => "none".to_string(),
            (false, _) => format!("always: {}", roles(r.delegated_roles)),
            (true, false) => format!("for other users: {}", roles(r.delegated_roles_for_others)),
        };
        for e in r.endpoints {
            let dir = if e.contains("/me/") {
                "none (self)"
            } else {
                &dir
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {dir} | {} |\n",
                e.replace('|', "\\|"),
                list(r.delegated_scopes),
                list(r.application_roles),
                subject(r, e)
            ));
        }
    }
    out
}

/// The self/other column: whom a caller may act on through this endpoint.
fn subject(r: &Rule, endpoint: &str) -> String {
    if endpoint.contains("/me/") {
        "self only; delegated only (an application token gets 400)".into()
    } else if !r.delegated_roles_for_others.is_empty() {
        "self: the scope alone; other users of the caller's tenant: delegated needs a directory role, application the role alone".into()
    } else if r.delegated_scopes.is_empty() {
        "application only; records of the tenants the token names (`tid`, and `mfalens_tenants` from issuers allowed to)".into()
    } else if r.application_roles.is_empty() {
        "App+User (delegated) only; the caller's own tenant".into()
    } else {
        "tenant-wide: the caller's own tenant".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/permissions.md` carries `render_markdown()` between two markers. After changing
    /// the table, run with `MFALENS_UPDATE_DOCS=1` to rewrite that block.
    #[test]
    fn docs_permissions_md_carries_the_table() {
        const BEGIN: &str =
            "<!-- permissions-table:begin (generated from auth::policy::TABLE) -->\n";
        const END: &str = "<!-- permissions-table:end -->";
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/permissions.md");
        let doc = std::fs::read_to_string(&path).expect("docs/permissions.md");
        let table = render_markdown();
        let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/permissions.md lacks the table markers");
        };
        let current = &doc[b + BEGIN.len()..e];
        if current != table && std::env::var_os("MFALENS_UPDATE_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{table}{}", &doc[..b], &doc[e..]);
            std::fs::write(&path, updated).expect("write docs");
            return;
        }
        assert_eq!(
            current, table,
            "docs/permissions.md is out of date; run `MFALENS_UPDATE_DOCS=1 cargo test -p mfalens-server docs_permissions_md` to regenerate it"
        );
    }
}

//! The console's sections and the roles that open each: what the navigation shows a person
//! and what each section's pages let in. A section's roles are those of the API routes its
//! pages act through (so a person never sees a page whose actions the API would refuse
//! them); finer decisions (which banks, whose keys) are the API's, made by
//! [`Member`](crate::serve::auth::Member).

use ward_store::Role;

use super::session::ConsoleUser;
use crate::analyst::session::CONSOLE_ROLES;

/// A section of the console, as its navigation lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The deployment at a glance (`/admin`).
    Overview,
    /// Banks and their content (`/admin/banks`).
    Banks,
    /// The match tester (`/admin/match`).
    Match,
    /// Organisations (`/admin/orgs`): the deployment's admins.
    Organisations,
    /// People and keys (`/admin/people`): those who administer an organisation.
    People,
    /// Exchanges and partners (`/admin/exchanges`).
    Exchanges,
    /// The audit log (`/admin/audit`).
    Audit,
    /// Hosts' abuse contacts for notices (`/admin/contacts`).
    Contacts,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Overview,
        Section::Banks,
        Section::Match,
        Section::Organisations,
        Section::People,
        Section::Exchanges,
        Section::Audit,
        Section::Contacts,
    ];

    /// The roles that open it (admins open every section, and an organisation's
    /// administrator whatever its curators open, as [`crate::serve::auth::may_act_as`]
    /// says).
    pub fn roles(self) -> &'static [Role] {
        match self {
            // Everyone the console lets in: each sees the banks its role sees.
            Section::Overview | Section::Banks => CONSOLE_ROLES,
            // The roles of `/v1/match`.
            Section::Match => crate::serve::matching::MATCHERS,
            // Only the deployment's operator makes organisations and keeps hosts' contacts
            // (notices are the hotline's).
            Section::Organisations | Section::Contacts => &[Role::Admin],
            // `/v1/keys` and `/v1/users`: those who administer an organisation.
            Section::People => &[Role::OrgAdmin],
            // HMA's exchange routes: curators (the exchanges' banks are theirs) and analysts
            // who read them.
            Section::Exchanges => &[Role::Curator, Role::Analyst],
            // `/v1/audit`.
            Section::Audit => &[Role::Auditor],
        }
    }

    pub fn href(self) -> &'static str {
        match self {
            Section::Overview => "/admin",
            Section::Banks => "/admin/banks",
            Section::Match => "/admin/match",
            Section::Organisations => "/admin/orgs",
            Section::People => "/admin/people",
            Section::Exchanges => "/admin/exchanges",
            Section::Audit => "/admin/audit",
            Section::Contacts => "/admin/contacts",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Banks => "Banks",
            Section::Match => "Match tester",
            Section::Organisations => "Organisations",
            Section::People => "People and keys",
            Section::Exchanges => "Exchanges",
            Section::Audit => "Audit log",
            Section::Contacts => "Contacts",
        }
    }

    /// Whether `user` opens it.
    pub fn opens(self, user: &ConsoleUser) -> bool {
        user.may(self.roles())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::auth::may_act_as;

    /// Who opens what, role by role: the table a deployment's operator reads in the README.
    #[test]
    fn each_role_opens_its_sections() {
        use Section::*;
        let cases: [(Role, &[Section]); 5] = [
            (Role::Admin, &Section::ALL),
            (Role::OrgAdmin, &[Overview, Banks, Match, People, Exchanges]),
            (Role::Curator, &[Overview, Banks, Match, Exchanges]),
            (Role::Analyst, &[Overview, Banks, Match, Exchanges]),
            (Role::Auditor, &[Overview, Banks, Audit]),
        ];
        for (role, expected) in cases {
            let opened: Vec<Section> = Section::ALL
                .into_iter()
                .filter(|s| may_act_as(role, s.roles()))
                .collect();
            assert_eq!(opened, expected, "{role}");
        }
    }
}

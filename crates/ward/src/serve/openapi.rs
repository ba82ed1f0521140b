//! The OpenAPI 3.1 document served at `/openapi.json`: every route of the `/v1` API, with
//! its parameters, bodies, answers and the roles that may call it. A test checks that it
//! names exactly the routes the router serves.

use serde_json::{Value, json};

/// One operation: method, summary, roles, and its request body and parameters, if any.
struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    roles: &'static str,
    parameters: Value,
    body: Option<Value>,
    ok: (&'static str, &'static str),
}

fn id_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "integer"}})
}

fn query_param(name: &str, required: bool, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": {"type": "string"}, "description": description})
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn media_body() -> Value {
    json!({"required": true, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]
    }}}})
}

fn operations() -> Vec<Operation> {
    let bank = json!({"$ref": "#/components/schemas/BankRequest"});
    let signals = json!({"type": "object", "required": ["signals"], "properties": {"signals": {"type": "array", "items": {"$ref": "#/components/schemas/Signal"}}}});
    vec![
        Operation {
            method: "get",
            path: "/v1/banks",
            summary: "List the banks the caller can see",
            roles: "all",
            parameters: json!([]),
            body: None,
            ok: ("200", "Banks"),
        },
        Operation {
            method: "post",
            path: "/v1/banks",
            summary: "Create a bank",
            roles: "admin, curator",
            parameters: json!([]),
            body: Some(json_body(bank)),
            ok: ("201", "Bank"),
        },
        Operation {
            method: "get",
            path: "/v1/banks/{id}",
            summary: "A bank",
            roles: "all",
            parameters: json!([id_param("id")]),
            body: None,
            ok: ("200", "Bank"),
        },
        Operation {
            method: "patch",
            path: "/v1/banks/{id}",
            summary: "Change a bank's name, distance, enabled flag, sharing, dispute limit or description",
            roles: "admin, curator of its organisation",
            parameters: json!([id_param("id")]),
            body: Some(json_body(json!({"$ref": "#/components/schemas/BankPatch"}))),
            ok: ("200", "Bank"),
        },
        Operation {
            method: "delete",
            path: "/v1/banks/{id}",
            summary: "Delete a bank: its signals stop matching",
            roles: "admin, curator of its organisation",
            parameters: json!([id_param("id")]),
            body: None,
            ok: ("204", "Deleted"),
        },
        Operation {
            method: "get",
            path: "/v1/banks/{id}/content",
            summary: "A bank's content items, by id (audited)",
            roles: "admin, curator, analyst",
            parameters: json!([
                id_param("id"),
                query_param("after", false, "the last id of the previous page"),
                query_param("limit", false, "1 to 1000, 100 by default"),
                query_param(
                    "signal_type",
                    false,
                    "with signal: pdq (default), md5, sha1 or sha256"
                ),
                query_param(
                    "signal",
                    false,
                    "the items whose matching signals equal it (PDQ: within distance), nearest first"
                ),
                query_param("distance", false, "for a PDQ signal: 0 (default) to 255"),
                query_param(
                    "label",
                    false,
                    "the items whose list label, list fields, source or list id contain it (case-insensitive); at most 10000 items read per request, next_after goes on"
                )
            ]),
            body: None,
            ok: ("200", "Content page"),
        },
        Operation {
            method: "post",
            path: "/v1/banks/{id}/content",
            summary: "Add a content item with its signals, categories and source",
            roles: "admin, curator of its organisation",
            parameters: json!([id_param("id")]),
            body: Some(json_body(
                json!({"$ref": "#/components/schemas/ContentRequest"}),
            )),
            ok: ("201", "Content"),
        },
        Operation {
            method: "post",
            path: "/v1/banks/{id}/signals",
            summary: "Bulk import, streamed: CSV (signal_type,signal), plain hashes, or JSON lines; one content item per signal, committed in batches",
            roles: "admin, curator of its organisation",
            parameters: json!([id_param("id"), {"name": "X-Ward-Source", "in": "header", "required": false, "schema": {"type": "string"}, "description": "the provenance source recorded (api:import by default)"}]),
            body: Some(
                json!({"required": true, "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}),
            ),
            ok: ("200", "Import report: added, malformed, errors by line"),
        },
        Operation {
            method: "post",
            path: "/v1/banks/{id}/import",
            summary: "Import a list in one of the field's formats, streamed: CSV, HMA bank content, Project VIC (VICS), NCMEC hash-sharing XML or StopNCII JSON; upserts and tombstones keyed by the list's ids, committed in batches",
            roles: "admin, curator of its organisation",
            parameters: json!([
                id_param("id"),
                query_param("format", true, "csv, hma, vics, ncmec or stopncii"),
                query_param("source", false, "the provenance source recorded (api:import:<format> by default); X-Ward-Source takes precedence"),
                {"name": "X-Ward-Source", "in": "header", "required": false, "schema": {"type": "string"}, "description": "the provenance source recorded"}
            ]),
            body: Some(
                json!({"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}),
            ),
            ok: (
                "200",
                "Import report: records, added, replaced, removed, missing, malformed, errors (record, line, reason; the first 100), fatal (why reading stopped early, or null)",
            ),
        },
        Operation {
            method: "get",
            path: "/v1/banks/{id}/export",
            summary: "A bank's content as a list, streamed: CSV (text/csv), HMA bank content (application/x-ndjson) or VICS (application/json); audited",
            roles: "admin, curator, analyst (banks the caller sees)",
            parameters: json!([
                id_param("id"),
                query_param("format", true, "csv, hma or vics")
            ]),
            body: None,
            ok: ("200", "The list"),
        },
        Operation {
            method: "get",
            path: "/v1/content/{id}",
            summary: "A content item (audited)",
            roles: "admin, curator, analyst",
            parameters: json!([id_param("id")]),
            body: None,
            ok: ("200", "Content"),
        },
        Operation {
            method: "patch",
            path: "/v1/content/{id}",
            summary: "Enable or disable a content item, or record its assessment (categories: null clears)",
            roles: "admin, curator of its organisation; analysts of its organisation for categories",
            parameters: json!([id_param("id")]),
            body: Some(json_body(
                json!({"type": "object", "properties": {"enabled": {"type": "boolean"}, "categories": {"$ref": "#/components/schemas/Categories"}}}),
            )),
            ok: ("200", "Content"),
        },
        Operation {
            method: "delete",
            path: "/v1/content/{id}",
            summary: "Remove a content item",
            roles: "admin, curator of its organisation",
            parameters: json!([id_param("id")]),
            body: None,
            ok: ("204", "Removed"),
        },
        Operation {
            method: "put",
            path: "/v1/content/{id}/opinion",
            summary: "The caller's organisation confirms or disputes a content item (null withdraws)",
            roles: "admin, curator, analyst",
            parameters: json!([id_param("id")]),
            body: Some(json_body(
                json!({"type": "object", "properties": {"opinion": {"type": ["string", "null"], "enum": ["confirm", "dispute", null]}}}),
            )),
            ok: ("200", "Content"),
        },
        Operation {
            method: "get",
            path: "/v1/content/{id}/cybertip",
            summary: "A CyberTipline report draft (application/xml) for a content item: its hashes and industry classification, for the platform to review, complete and file; audited. The URL is written into the draft, never fetched",
            roles: "admin, platform, curator, analyst (content of banks the caller sees)",
            parameters: json!([
                id_param("id"),
                query_param("first_name", false, "the reporting person's first name"),
                query_param("last_name", false, "the reporting person's last name"),
                query_param("email", false, "the reporting person's email"),
                query_param(
                    "url",
                    false,
                    "where the content was: written as the incident's web page, never fetched"
                )
            ]),
            body: None,
            ok: ("200", "The draft (XML)"),
        },
        Operation {
            method: "get",
            path: "/v1/content/{id}/referral",
            summary: "A referral of a content item to law enforcement or a hotline: its signals, categories, provenance, first and last seen, related reported URLs and their reports (never a reporter's e-mail), as Ward's referral JSON or a VICS #Media export; audited as export.referral",
            roles: "admin, curator, analyst (content of banks the caller sees)",
            parameters: json!([
                id_param("id"),
                query_param("format", false, "json (default) or vics")
            ]),
            body: None,
            ok: ("200", "The referral (JSON)"),
        },
        Operation {
            method: "post",
            path: "/v1/referrals",
            summary: "A referral of several content items (a series' members, say), as Ward's referral JSON or a VICS #Media export; audited as export.referral with the items as the target",
            roles: "admin, curator, analyst (content of banks the caller sees)",
            parameters: json!([]),
            body: Some(json_body(
                json!({"type": "object", "required": ["content"], "properties": {"content": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 10000}, "format": {"type": "string", "enum": ["json", "vics"]}}}),
            )),
            ok: ("200", "The referral (JSON)"),
        },
        Operation {
            method: "post",
            path: "/v1/hash",
            summary: "Hash media: PDQ and quality (images) or vPDQ (videos), MD5, SHA-1, SHA-256",
            roles: "admin, curator, analyst, platform",
            parameters: json!([]),
            body: Some(media_body()),
            ok: ("200", "Hashes"),
        },
        Operation {
            method: "get",
            path: "/v1/match",
            summary: "Match one signal against the banks the caller sees",
            roles: "admin, curator, analyst, platform",
            parameters: json!([
                query_param("signal_type", true, "pdq, md5, sha1, sha256 or vpdq"),
                query_param("signal", true, "the hash (hex), or vPDQ JSON")
            ]),
            body: None,
            ok: ("200", "Matches"),
        },
        Operation {
            method: "post",
            path: "/v1/match",
            summary: "Match signals (JSON), or media hashed and matched in one call (multipart)",
            roles: "admin, curator, analyst, platform",
            parameters: json!([]),
            body: Some(
                json!({"required": true, "content": {"application/json": {"schema": signals}, "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}}),
            ),
            ok: ("200", "Matches"),
        },
        Operation {
            method: "get",
            path: "/v1/series",
            summary: "List the live series whose members the caller sees, by id",
            roles: "admin, analyst, curator, auditor",
            parameters: json!([
                query_param(
                    "victim_identified",
                    false,
                    "true or false: only those whose victim is (not) identified"
                ),
                query_param("after", false, "the last series id of the previous page"),
                query_param("limit", false, "1 to 1000")
            ]),
            body: None,
            ok: ("200", "Series"),
        },
        Operation {
            method: "get",
            path: "/v1/series/{id}",
            summary: "A series: its flags, referral and the members the caller sees (the first 1,000)",
            roles: "admin, analyst, curator, auditor",
            parameters: json!([id_param("id")]),
            body: None,
            ok: ("200", "Series"),
        },
        Operation {
            method: "patch",
            path: "/v1/series/{id}",
            summary: "Change a series' name, flags (victim_identified, offender_identified) or referral (referred_to, referred_on)",
            roles: "admin, curator",
            parameters: json!([id_param("id")]),
            body: Some(json_body(json!({"type": "object", "properties": {
                "name": {"type": ["string", "null"]},
                "victim_identified": {"type": "boolean"},
                "offender_identified": {"type": "boolean"},
                "referred_to": {"type": ["string", "null"], "description": "null clears the referral"},
                "referred_on": {"type": "string", "format": "date", "description": "today when a referral is given without it"}}}))),
            ok: ("200", "Series"),
        },
        Operation {
            method: "post",
            path: "/v1/series/{id}/merge",
            summary: "Ask that two series be merged (the keeper decides; the answer or a later GET of the decision says how it went)",
            roles: "admin, curator",
            parameters: json!([id_param("id")]),
            body: Some(json_body(
                json!({"type": "object", "required": ["with"], "properties": {"with": {"type": "integer"}}}),
            )),
            ok: ("202", "The decision"),
        },
        Operation {
            method: "post",
            path: "/v1/series/{id}/split",
            summary: "Ask that content items be split from a series",
            roles: "admin, curator",
            parameters: json!([id_param("id")]),
            body: Some(json_body(
                json!({"type": "object", "required": ["content"], "properties": {"content": {"type": "array", "items": {"type": "integer"}}}}),
            )),
            ok: ("202", "The decision"),
        },
        Operation {
            method: "get",
            path: "/v1/series/{id}/referral",
            summary: "A referral of the series with the members the caller sees",
            roles: "admin, analyst, curator",
            parameters: json!([
                id_param("id"),
                query_param("format", false, "json (default) or vics")
            ]),
            body: None,
            ok: ("200", "The referral"),
        },
        Operation {
            method: "get",
            path: "/v1/series/decisions/{id}",
            summary: "A merge or split asked for, and its outcome",
            roles: "admin, curator",
            parameters: json!([id_param("id")]),
            body: None,
            ok: ("200", "The decision"),
        },
        Operation {
            method: "get",
            path: "/v1/keys",
            summary: "The keys of the organisations the caller administers (never a secret)",
            roles: "admin, org_admin",
            parameters: json!([query_param("org", false, "only this organisation's")]),
            body: None,
            ok: ("200", "Keys"),
        },
        Operation {
            method: "post",
            path: "/v1/keys",
            summary: "Make a key; its secret is in this answer only",
            roles: "admin, org_admin",
            parameters: json!([]),
            body: Some(json_body(
                json!({"type": "object", "required": ["role", "label"], "properties": {
                "role": {"type": "string", "enum": ["admin", "org_admin", "curator", "analyst", "platform", "auditor"], "description": "admin: admins only"},
                "label": {"type": "string"},
                "org": {"type": "integer", "description": "admins; an organisation's administrator makes its own's"}}}),
            )),
            ok: ("201", "The key, with its secret"),
        },
        Operation {
            method: "delete",
            path: "/v1/keys/{id}",
            summary: "Revoke a key",
            roles: "admin, org_admin",
            parameters: json!([id_param("id")]),
            body: None,
            ok: ("200", "The key, revoked"),
        },
        Operation {
            method: "get",
            path: "/v1/users",
            summary: "The accounts of the organisations the caller administers (never a password)",
            roles: "admin, org_admin",
            parameters: json!([query_param("org", false, "only this organisation's")]),
            body: None,
            ok: ("200", "Accounts"),
        },
        Operation {
            method: "patch",
            path: "/v1/users/{id}",
            summary: "Disable an account (its sessions end) or enable it again",
            roles: "admin, org_admin",
            parameters: json!([id_param("id")]),
            body: Some(json_body(
                json!({"type": "object", "required": ["disabled"], "properties": {"disabled": {"type": "boolean"}}}),
            )),
            ok: ("200", "The account"),
        },
        Operation {
            method: "post",
            path: "/v1/users",
            summary: "Make an account without a password; its one-time password link is in this answer only",
            roles: "admin, org_admin",
            parameters: json!([]),
            body: Some(json_body(
                json!({"type": "object", "required": ["name", "role"], "properties": {
                "name": {"type": "string"},
                "role": {"type": "string", "enum": ["admin", "org_admin", "curator", "analyst", "auditor"], "description": "admin: admins only"},
                "org": {"type": "integer", "description": "admins; an organisation's administrator makes its own's"}}}),
            )),
            ok: (
                "201",
                "The account, with password_link and password_link_expires_at",
            ),
        },
        Operation {
            method: "post",
            path: "/v1/users/{id}/password-link",
            summary: "Reset a password: a new one-time link (in this answer only); the old password stops working and the sessions end",
            roles: "admin, org_admin",
            parameters: json!([id_param("id")]),
            body: None,
            ok: (
                "201",
                "The account, with password_link and password_link_expires_at",
            ),
        },
        Operation {
            method: "get",
            path: "/v1/orgs",
            summary: "The organisations, with the operator and their counts of accounts and live keys",
            roles: "admin",
            parameters: json!([]),
            body: None,
            ok: ("200", "Organisations"),
        },
        Operation {
            method: "post",
            path: "/v1/orgs",
            summary: "Make an organisation",
            roles: "admin",
            parameters: json!([]),
            body: Some(json_body(
                json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}),
            )),
            ok: ("201", "The organisation"),
        },
        Operation {
            method: "get",
            path: "/v1/audit",
            summary: "The append-only audit log, oldest first (or newest): the events the caller's organisation's members made and those about what it owns (every event for admins and the deployment operator's auditors), searched by actor, action, target and days",
            roles: "admin, auditor",
            parameters: json!([
                query_param("after", false, "the last id already read"),
                query_param(
                    "before",
                    false,
                    "only smaller ids (the next page of order=newest)"
                ),
                query_param("target", false, "e.g. bank:3, content:42"),
                query_param(
                    "actor",
                    false,
                    "the actor's beginning, e.g. user:alice, key:"
                ),
                query_param(
                    "action",
                    false,
                    "the action's beginning, e.g. exchange., contact.set"
                ),
                query_param("from", false, "the first day, YYYY-MM-DD (UTC)"),
                query_param("to", false, "the last day, included, YYYY-MM-DD (UTC)"),
                query_param("order", false, "oldest (default) or newest first"),
                query_param("limit", false, "1 to 10000, 100 by default")
            ]),
            body: None,
            ok: ("200", "Audit events"),
        },
        // Hosts' abuse contacts, for notices (as `ward admin contact` keeps them).
        Operation {
            method: "get",
            path: "/v1/contacts",
            summary: "Hosts' abuse contacts for notices: each pattern (a host name covering its subdomains) with its e-mail address and webhook",
            roles: "admin",
            parameters: json!([]),
            body: None,
            ok: ("200", "Contacts"),
        },
        Operation {
            method: "put",
            path: "/v1/contacts",
            summary: "Set how the hosts a pattern covers are sent notices, replacing what was set for it: an e-mail address, a webhook (an http or https URL with a host), or both; audited as contact.set",
            roles: "admin",
            parameters: json!([]),
            body: Some(json_body(
                json!({"type": "object", "required": ["pattern"], "properties": {"pattern": {"type": "string"}, "email": {"type": "string"}, "webhook": {"type": "string"}}}),
            )),
            ok: ("200", "The contact"),
        },
        Operation {
            method: "delete",
            path: "/v1/contacts/{pattern}",
            summary: "Remove a pattern's contact; audited as contact.remove",
            roles: "admin",
            parameters: json!([{"name": "pattern", "in": "path", "required": true, "schema": {"type": "string"}}]),
            body: None,
            ok: ("200", "Removed"),
        },
        // Reports that cross borders: partner hotlines and forwards.
        Operation {
            method: "get",
            path: "/v1/forwarding",
            summary: "What this hotline tells a partner hotline (forwards of reported URLs hosted where it covers, and the outcome of those it forwarded here), a page after a cursor, signed with this instance's key over the exact body (x-ward-signature); only for a partner's request signed with its pinned key (x-ward-instance, x-ward-time, x-ward-request-signature)",
            roles: "a partner hotline's signed request",
            parameters: json!([
                query_param(
                    "after",
                    false,
                    "the cursor the last page ended at; empty from the beginning"
                ),
                query_param("limit", false, "1 to 500, 100 by default")
            ]),
            body: None,
            ok: ("200", "A signed forwarding page"),
        },
        Operation {
            method: "get",
            path: "/v1/forwarding/partners",
            summary: "The forwarding partners: ward exchanges with the countries each covers, whether forwarding is on, the time it has to acknowledge, and where its forwarding feed was read to",
            roles: "admin",
            parameters: json!([]),
            body: None,
            ok: ("200", "Partners"),
        },
        Operation {
            method: "put",
            path: "/v1/forwarding/partners/{name}",
            summary: "Make a ward exchange (its name, or #ID) a forwarding partner covering countries, or change what it covers; audited as forwarding.set",
            roles: "admin",
            parameters: json!([{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}]),
            body: Some(json_body(
                json!({"type": "object", "required": ["countries"], "properties": {"countries": {"type": "array", "items": {"type": "string"}}, "enabled": {"type": "boolean"}, "ack_timeout_seconds": {"type": "integer"}}}),
            )),
            ok: ("200", "The partner"),
        },
        Operation {
            method: "delete",
            path: "/v1/forwarding/partners/{name}",
            summary: "Stop forwarding to a partner (its forwards are kept); audited as forwarding.remove",
            roles: "admin",
            parameters: json!([{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}]),
            body: None,
            ok: ("200", "Removed"),
        },
        Operation {
            method: "get",
            path: "/v1/forwards",
            summary: "Forwards of reported URLs one way (out: to partners; in: from partners), newest first, with where each stands and the partner's assessment, notice and removal times",
            roles: "analyst, admin",
            parameters: json!([
                query_param("direction", false, "out (default) or in"),
                query_param("offset", false, "position to start from"),
                query_param("limit", false, "1 to 500, 100 by default")
            ]),
            body: None,
            ok: ("200", "Forwards"),
        },
        Operation {
            method: "post",
            path: "/v1/forwards/{id}/decline",
            summary: "Decline a forward received from a partner, saying why: the partner is told and has the report back; 409 once the host has been noticed",
            roles: "analyst, admin",
            parameters: json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]),
            body: Some(json_body(
                json!({"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}),
            )),
            ok: ("200", "The forward, declined"),
        },
        Operation {
            method: "get",
            path: "/v1/statistics",
            summary: "The hotline's figures for a period: reports received and actioned by country and language, reported URLs by state, notices, times from notice to removal (median, 90th percentile, shares within 24 h, 7 and 42 days)",
            roles: "admin, auditor, analyst, curator",
            parameters: json!([
                query_param(
                    "from",
                    false,
                    "the first day, YYYY-MM-DD (UTC); 30 days before to by default"
                ),
                query_param(
                    "to",
                    false,
                    "the day after the last, YYYY-MM-DD; tomorrow by default"
                ),
                query_param("format", false, "json (default) or csv")
            ]),
            body: None,
            ok: ("200", "The figures"),
        },
        Operation {
            method: "get",
            path: "/v1/statistics/{id}",
            summary: "A chart of the figures as SVG: reports.svg, urls.svg or removal.svg",
            roles: "admin, auditor, analyst, curator",
            parameters: json!([
                id_param("id"),
                query_param("from", false, "as for /v1/statistics"),
                query_param("to", false, "as for /v1/statistics")
            ]),
            body: None,
            ok: ("200", "An SVG chart"),
        },
        Operation {
            method: "get",
            path: "/v1/transparency",
            summary: "Transparency figures by month for an organisation or the deployment: hashes contributed and consumed, matches by bank, known/near/novel queries, opinions sent and received, reports received and actioned, notices and re-notices, times to removal, analyst exposure; one row per month, figure and key",
            roles: "admin, auditor, analyst, curator (members see their organisation; admins and the deployment operator's auditors any, and the deployment)",
            parameters: json!([
                query_param(
                    "org",
                    false,
                    "an organisation's id, or all (admins and the deployment operator's auditors); the caller's own by default"
                ),
                query_param(
                    "from",
                    false,
                    "the first month, YYYY-MM (UTC); eleven months before to by default"
                ),
                query_param(
                    "to",
                    false,
                    "the last month, included, YYYY-MM; this month by default"
                ),
                query_param("format", false, "json (default) or csv")
            ]),
            body: None,
            ok: ("200", "The figures"),
        },
        Operation {
            method: "get",
            path: "/v1/transparency/{id}",
            summary: "A chart of the transparency figures by month as SVG: signals.svg, queries.svg, opinions.svg, reports.svg, notices.svg, self-reports.svg or forwards.svg",
            roles: "admin, auditor, analyst, curator",
            parameters: json!([
                id_param("id"),
                query_param("org", false, "as for /v1/transparency"),
                query_param("from", false, "as for /v1/transparency"),
                query_param("to", false, "as for /v1/transparency")
            ]),
            body: None,
            ok: ("200", "An SVG chart"),
        },
        Operation {
            method: "get",
            path: "/v1/feed",
            summary: "Changes to the banks the caller may see, in order: upserts and tombstones, a page at a time",
            roles: "admin, curator, analyst",
            parameters: json!([
                query_param(
                    "cursor",
                    false,
                    "the cursor of the last page read; from the start when absent"
                ),
                query_param("limit", false, "1 to 10000 entries, 1000 by default")
            ]),
            body: None,
            ok: ("200", "A page of the feed: entries, cursor, more"),
        },
    ]
}

/// The paths the document describes (for the test that compares them with the router).
#[cfg(test)]
pub fn paths() -> Vec<(&'static str, &'static str)> {
    operations().iter().map(|o| (o.method, o.path)).collect()
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in operations() {
        let mut operation = json!({
            "summary": op.summary,
            "description": format!("Roles: {}.", op.roles),
            "parameters": op.parameters,
            "security": [{"bearer": []}],
            "responses": {
                op.ok.0: {"description": op.ok.1},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "413": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"},
                "503": {"$ref": "#/components/responses/Error"},
            },
        });
        if let Some(body) = op.body {
            operation["requestBody"] = body;
        }
        paths
            .entry(op.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object")
            .insert(op.method.to_string(), operation);
    }
    for (path, summary) in [
        ("/healthz", "Liveness"),
        (
            "/readyz",
            "Readiness: the store answers and the match index is loaded",
        ),
        ("/metrics", "Prometheus metrics"),
        ("/openapi.json", "This document"),
        (
            "/v1/instance",
            "This instance's identity: its Ed25519 public key, which signs every feed page (X-Ward-Signature), for partners to pin",
        ),
    ] {
        paths.insert(path.into(), json!({"get": {"summary": summary, "security": [], "responses": {"200": {"description": "OK"}}}}));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ward",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Find, share, report and remove known abuse material by its hashes. Every /v1 route needs Authorization: Bearer <key> (made with ward admin key create).",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "An error. Every error of /v1 has this shape, whatever answered it (a handler, a body that is not JSON or not of the route's shape, a route or method that does not exist, a body over its limit).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string", "description": "What went wrong, for programs: bad_request, unauthorized, forbidden, not_found, method_not_allowed, conflict, too_large, unsupported_media_type, invalid_body (JSON of the wrong shape), unprocessable (media that cannot be hashed), timeout, too_many_requests, no_hashing_memory, unavailable, no_video_decoder, internal", "examples": ["bad_request"]},
                        "message": {"type": "string", "description": "What went wrong, for people"}}}}},
                "Signal": {"type": "object", "required": ["signal_type", "signal"], "properties": {
                    "signal_type": {"type": "string", "enum": ["pdq", "md5", "sha1", "sha256", "vpdq", "photodna"]},
                    "signal": {"type": "string"}}},
                "Categories": {"type": ["object", "null"], "required": ["age_group", "activity"], "properties": {
                    "age_group": {"type": "string", "enum": ["prepubescent", "pubescent", "unknown"]},
                    "activity": {"type": "string", "enum": ["penetrative", "bestiality", "sadism", "non_penetrative", "lascivious_exhibition", "other_indecent"]}}},
                "BankRequest": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "org": {"type": "integer", "description": "admins only"},
                    "kind": {"type": "string", "enum": ["standard", "negative", "self_report"]},
                    "distance": {"type": "integer", "minimum": 0, "maximum": 255, "default": 31},
                    "enabled": {"type": "boolean", "default": true},
                    "sharing": {"type": "string", "enum": ["private", "members", "public", "organisations"], "default": "private"},
                    "shared_with": {"type": "array", "items": {"type": "integer"}, "description": "with sharing organisations: the organisations (ids) that see and match the bank besides its own"},
                    "dispute_limit": {"type": ["integer", "null"], "minimum": 1, "description": "the number of organisations whose disputes disable an item (withdrawing it from every feed); none: never"},
                    "description": {"type": "string"}}},
                "BankPatch": {"type": "object", "properties": {
                    "name": {"type": "string"}, "distance": {"type": "integer"}, "enabled": {"type": "boolean"},
                    "sharing": {"type": "string", "enum": ["private", "members", "public", "organisations"]},
                    "shared_with": {"type": "array", "items": {"type": "integer"}, "description": "a change of sharing or of this list gives the bank's items to the feed again: upserts to those who see it now, tombstones to the rest"},
                    "dispute_limit": {"type": ["integer", "null"], "minimum": 1, "description": "null turns the policy off"},
                    "description": {"type": "string"}}},
                "ContentRequest": {"type": "object", "required": ["signals"], "properties": {
                    "signals": {"type": "array", "items": {"$ref": "#/components/schemas/Signal"}},
                    "categories": {"$ref": "#/components/schemas/Categories"},
                    "source": {"type": "string"}}},
            },
        },
    })
}

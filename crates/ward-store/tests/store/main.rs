//! The storage conformance suite: every check is written once against the `Store` trait and
//! runs on a fresh SQLite file and on a fresh PostgreSQL database (`sqlite::` and
//! `postgres::` tests). PostgreSQL must be reachable: see `harness.rs`.

mod analysts;
mod audit;
mod banks;
mod bulk;
mod content;
mod exchange;
mod exchanges;
mod feed;
mod feedback;
mod forwarding;
mod harness;
mod hotlines;
mod keys;
mod notes;
mod notices;
mod opening;
mod opinions;
mod orgs;
mod password_links;
mod plain;
mod referral;
mod reports;
mod self_reports;
mod series;
mod sharing;
mod tenancy;
mod transparency;

/// One test per check and backend.
macro_rules! conformance {
    ($($module:ident :: $check:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    crate::harness::run(crate::harness::Backend::Sqlite, |store| async move {
                        crate::$module::$check(&store).await
                    })
                    .await
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    crate::harness::run(crate::harness::Backend::Postgres, |store| async move {
                        crate::$module::$check(&store).await
                    })
                    .await
                }
            )+
        }
    };
}

conformance!(
    forwarding::forwarding_between_hotlines,
    orgs::organisations,
    orgs::organisation_names,
    keys::keys,
    keys::secrets_are_never_stored,
    keys::key_checks,
    keys::revocations_are_a_feed,
    keys::key_use_is_recorded,
    keys::nodes_report_themselves,
    banks::banks,
    banks::bank_names_and_distances,
    banks::bank_updates,
    banks::bank_deletion,
    content::content_round_trip,
    content::contents_in_order_asked,
    content::bank_contents_pages,
    content::add_is_all_or_nothing,
    content::enable_disable_remove,
    content::assessments,
    content::text_over_its_maximum_is_refused,
    opinions::opinions,
    feed::feed_order_and_latest_state,
    feed::feed_follows_concurrent_writers,
    audit::every_change_is_logged,
    audit::audit_queries,
    audit::audit_searches,
    audit::audit_log_is_append_only,
    bulk::bulk_add,
    exchange::imports_upsert_and_tombstone,
    exchange::bulk_items_are_content_like_any_other,
    exchange::a_long_bulk_add_reads_back_item_by_item,
    exchange::instance_key_and_partners,
    exchange::upserts_keep_local_opinions,
    plain::plain_lists_are_keyed_by_their_signals,
    plain::plain_keys_hold_across_writers,
    plain::items_stored_before_keys_are_keyed_at_open,
    sharing::sharing_with_named_organisations,
    sharing::dispute_policy,
    exchanges::exchanges_fetch_under_a_lease,
    exchanges::a_fetch_is_asked_for_at_once,
    feedback::feedback_is_owed_once_per_opinion,
    notes::bank_enabled_ratios,
    notes::content_notes,
    notes::content_due,
    notes::signal_type_ratios,
    series::keeper_lease_and_fenced_saves,
    series::saves_round_trip_and_rows_carry_over,
    series::curators_requests,
    series::the_queue_in_triage_order,
    series::match_summaries_agree_with_content_and_series,
    series::the_series_log_follows_every_change,
    series::summary_groups_share_a_summary,
    reports::reports_merge_urls_and_give_references,
    reports::intake_claims_fetches_and_keeps_evidence,
    reports::concurrent_claims_are_disjoint,
    reports::where_a_url_is_hosted,
    analysts::users_sessions_and_exposure,
    analysts::the_queue_and_decisions,
    password_links::password_links,
    self_reports::self_report_cases,
    notices::notices_until_removal,
    notices::statistics_of_a_period,
    transparency::match_counts_add_up,
    transparency::transparency_figures,
    transparency::forwarding_figures,
    transparency::forwarding_figures_of_both_hotlines,
    referral::referrals_gather_items_urls_and_reports,
    referral::referrals_refuse_what_is_not_there,
    tenancy::the_audit_log_is_read_by_organisation,
    tenancy::the_deployment_has_at_most_one_operator,
    tenancy::bank_names_are_unique_per_organisation,
    tenancy::series_are_seen_through_the_banks_a_reader_sees,
);

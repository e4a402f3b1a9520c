//! Every word a page shows, in every language: the console, the holder's
//! pages and the problem pages read their text from Project Fluent files,
//! `locales/<lang>/<area>.ftl`, so a translator changes words without
//! touching Rust. The files are embedded in the binary when it is built;
//! nothing is read from disk at run time.
//!
//! A page takes the [`Text`] of its language and asks for messages by id:
//! `t.get("queue-heading")`, an attribute as `t.get("problem-timeout.to-do")`,
//! and a message with variables as `t.with("approvals-needed", &[("count",
//! needed.into())])`. Bind it as `t`: a test collects every `t.get("…")` and
//! `t.with("…")` in `src/` and fails when no file defines the id.
//!
//! Each language's files are parsed into one bundle once, on first use (the
//! server forces it at start, so a broken file stops the start), and every
//! message that takes no variables is formatted then, once: asking for one is
//! a map lookup that returns a `&'static str`.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::resolver::ResolverError;
use fluent_bundle::resolver::errors::ReferenceKind;
use fluent_bundle::{FluentArgs, FluentError, FluentResource, FluentValue};
use fluent_syntax::ast;

use crate::web::Lang;

/// The translation files, embedded at compile time: `(language, file, text)`.
macro_rules! embed {
    ($($lang:literal / $file:literal),* $(,)?) => {
        &[$(($lang, $file, include_str!(concat!("../locales/", $lang, "/", $file))),)*]
    };
}

pub const FILES: &[(&str, &str, &str)] = embed![
    "en" / "console.ftl",
    "en" / "holder.ftl",
    "en" / "problems.ftl",
    "ko" / "console.ftl",
    "ko" / "holder.ftl",
    "ko" / "problems.ftl",
];

/// The words of one language.
#[derive(Clone, Copy)]
pub struct Text {
    catalog: &'static Catalog,
}

impl Text {
    pub fn of(lang: Lang) -> Self {
        let catalog = CATALOGS
            .iter()
            .find(|catalog| catalog.lang == lang)
            .unwrap_or_else(|| panic!("no translation files for {}", lang.code()));
        Text { catalog }
    }

    /// A message that takes no variables (`id`), or one of its attributes
    /// (`id.attribute`). The words live as long as `id` does, which for a
    /// literal id is for ever.
    pub fn get(self, id: &str) -> &str {
        self.find(id).unwrap_or_else(|| missing(self.catalog.lang, id))
    }

    /// A message that may have no words in this language: text keyed by
    /// data, such as an audit action.
    pub fn find(self, id: &str) -> Option<&'static str> {
        self.catalog.fixed.get(id).map(String::as_str)
    }

    /// A message (or `id.attribute`) with its variables, by name.
    pub fn with(self, id: &str, args: &[(&str, FluentValue)]) -> String {
        let bundle = &self.catalog.bundle;
        let (message, attribute) = split(id);
        let Some(message) = bundle.get_message(message) else {
            return missing(self.catalog.lang, id).to_owned();
        };
        let pattern = match attribute {
            Some(attribute) => message.get_attribute(attribute).map(|a| a.value()),
            None => message.value(),
        };
        let Some(pattern) = pattern else {
            return missing(self.catalog.lang, id).to_owned();
        };
        let args: FluentArgs = args.iter().map(|(name, value)| (*name, value.clone())).collect();
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&args), &mut errors).into_owned();
        if !errors.is_empty() {
            if cfg!(debug_assertions) {
                panic!("{id} ({}) did not format: {errors:?}", self.catalog.lang.code());
            }
            tracing::error!(
                message = id,
                lang = self.catalog.lang.code(),
                "a message did not format: {errors:?}"
            );
        }
        text
    }
}

/// What a page shows for an id no file defines: the id itself (Fluent's own
/// convention), logged. In debug builds, and so in every test, a panic.
fn missing(lang: Lang, id: &str) -> &str {
    if cfg!(debug_assertions) {
        panic!("no message {id} (without variables) in {}", lang.code());
    }
    tracing::error!(message = id, lang = lang.code(), "a message is missing");
    id
}

/// `id.attribute` into its two parts (Fluent ids contain no dot).
fn split(id: &str) -> (&str, Option<&str>) {
    match id.split_once('.') {
        Some((message, attribute)) => (message, Some(attribute)),
        None => (id, None),
    }
}

/// One language's bundle, and its messages without variables formatted once.
struct Catalog {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
    /// `id` or `id.attribute` → its words.
    fixed: HashMap<String, String>,
}

static CATALOGS: LazyLock<Vec<Catalog>> = LazyLock::new(|| {
    Lang::ALL
        .into_iter()
        .map(|lang| Catalog::load(lang).unwrap_or_else(|problem| panic!("{problem}")))
        .collect()
});

/// Parses every translation file once; panics, naming the file and the
/// problem, when one does not parse or a message does not resolve.
pub fn load() {
    LazyLock::force(&CATALOGS);
}

impl Catalog {
    fn load(lang: Lang) -> Result<Self, String> {
        let code = lang.code();
        let langid = code
            .parse()
            .map_err(|e| format!("{code} is not a language identifier: {e}"))?;
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        // Fluent wraps every placeable in Unicode isolation marks (U+2068 …
        // U+2069) so right-to-left text inside left-to-right text (or the
        // reverse) keeps its direction. Holdfast's languages are both
        // left-to-right, pages declare their `lang`, and the marks would end
        // up in attribute values (console.js's templates), in the problem+json
        // `title` and in text compared byte for byte: they are left out.
        bundle.set_use_isolating(false);
        let mut ids = Vec::new();
        for (file_lang, name, source) in FILES {
            if *file_lang != code {
                continue;
            }
            let resource = parse(source).map_err(|errors| format!("locales/{code}/{name}: {errors}"))?;
            ids.extend(messages(&resource).into_keys());
            bundle
                .add_resource(resource)
                .map_err(|errors| format!("locales/{code}/{name}: {errors:?}"))?;
        }
        if ids.is_empty() {
            return Err(format!("no translation files for {code}"));
        }
        let mut fixed = HashMap::new();
        for id in ids {
            let (message, attribute) = split(&id);
            let message = bundle.get_message(message).ok_or_else(|| format!("{id} vanished"))?;
            let pattern = match attribute {
                Some(attribute) => message.get_attribute(attribute).map(|a| a.value()),
                None => message.value(),
            };
            let Some(pattern) = pattern else { continue };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, None, &mut errors).into_owned();
            // A message that uses variables is formatted when it is asked
            // for; any other error is a broken message.
            let takes_variables = errors.iter().all(|error| {
                matches!(
                    error,
                    FluentError::ResolverError(ResolverError::Reference(ReferenceKind::Variable { .. }))
                )
            });
            if !takes_variables {
                return Err(format!("locales/{code}: {id}: {errors:?}"));
            }
            if errors.is_empty() {
                fixed.insert(id, text);
            }
        }
        Ok(Catalog { lang, bundle, fixed })
    }
}

/// One translation file, parsed; its syntax errors as one sentence.
pub fn parse(source: &str) -> Result<FluentResource, String> {
    FluentResource::try_new(source.to_owned()).map_err(|(_, errors)| {
        errors
            .iter()
            .map(|e| format!("{:?} at bytes {:?}", e.kind, e.pos))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Every message of a file and each of its attributes (`id` and
/// `id.attribute`), with the variables each one uses.
pub fn messages(resource: &FluentResource) -> BTreeMap<String, Vec<String>> {
    let mut found = BTreeMap::new();
    for entry in resource.entries() {
        let ast::Entry::Message(message) = entry else { continue };
        let id = message.id.name;
        if let Some(value) = &message.value {
            found.insert(id.to_owned(), variables(value));
        }
        for attribute in &message.attributes {
            found.insert(format!("{id}.{}", attribute.id.name), variables(&attribute.value));
        }
    }
    found
}

/// The variables a pattern uses, sorted, each once.
fn variables(pattern: &ast::Pattern<&str>) -> Vec<String> {
    fn inline(expression: &ast::InlineExpression<&str>, out: &mut Vec<String>) {
        match expression {
            ast::InlineExpression::VariableReference { id } => out.push(id.name.to_owned()),
            ast::InlineExpression::Placeable { expression } => placeable(expression, out),
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                arguments.positional.iter().for_each(|e| inline(e, out));
                arguments.named.iter().for_each(|a| inline(&a.value, out));
            }
            _ => {}
        }
    }
    fn placeable(expression: &ast::Expression<&str>, out: &mut Vec<String>) {
        match expression {
            ast::Expression::Inline(expression) => inline(expression, out),
            ast::Expression::Select { selector, variants } => {
                inline(selector, out);
                for variant in variants {
                    walk(&variant.value, out);
                }
            }
        }
    }
    fn walk(pattern: &ast::Pattern<&str>, out: &mut Vec<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                placeable(expression, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(pattern, &mut out);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod migration {
    use super::*;
    use crate::error::ProblemKind;
    #[test]
    fn the_files_say_what_the_tables_said() {
        for lang in Lang::ALL {
            let t = Text::of(lang);
            let c = crate::console::text::of(lang);
            let h = crate::unfreeze::web::text::of(lang);
            assert_eq!(c.console, t.get("brand-console"), "console");
            assert_eq!(c.skip_to_content, t.get("skip-to-content"), "skip_to_content");
            assert_eq!(c.navigation, t.get("nav-label"), "navigation");
            assert_eq!(c.nav_queue, t.get("nav-queue"), "nav_queue");
            assert_eq!(c.nav_reviews, t.get("nav-reviews"), "nav_reviews");
            assert_eq!(c.nav_overview, t.get("nav-overview"), "nav_overview");
            assert_eq!(c.overview_heading, t.get("overview-heading"), "overview_heading");
            assert_eq!(c.overview_as_of, t.get("overview-as-of"), "overview_as_of");
            assert_eq!(c.overview_open, t.get("overview-open"), "overview_open");
            assert_eq!(c.overview_priority, t.get("overview-priority"), "overview_priority");
            assert_eq!(c.overview_total, t.get("overview-total"), "overview_total");
            assert_eq!(
                c.overview_breaches_today,
                t.get("overview-breaches-today"),
                "overview_breaches_today"
            );
            assert_eq!(
                c.overview_acknowledge_missed,
                t.get("overview-acknowledge-missed"),
                "overview_acknowledge_missed"
            );
            assert_eq!(
                c.overview_contain_missed,
                t.get("overview-contain-missed"),
                "overview_contain_missed"
            );
            assert_eq!(
                c.overview_response_times,
                t.get("overview-response-times"),
                "overview_response_times"
            );
            assert_eq!(c.overview_count, t.get("overview-count"), "overview_count");
            assert_eq!(c.overview_median, t.get("overview-median"), "overview_median");
            assert_eq!(c.overview_p90, t.get("overview-p90"), "overview_p90");
            assert_eq!(c.overview_waiting, t.get("overview-waiting"), "overview_waiting");
            assert_eq!(
                c.overview_estimated_wait,
                t.get("overview-estimated-wait"),
                "overview_estimated_wait"
            );
            assert_eq!(c.role_analyst, t.get("role-analyst"), "role_analyst");
            assert_eq!(c.role_lead, t.get("role-lead"), "role_lead");
            assert_eq!(c.role_admin, t.get("role-admin"), "role_admin");
            assert_eq!(c.stepped_up, t.get("stepped-up"), "stepped_up");
            assert_eq!(c.sign_out, t.get("sign-out"), "sign_out");
            assert_eq!(c.sign_in, t.get("sign-in"), "sign_in");
            assert_eq!(c.signin_heading, t.get("signin-heading"), "signin_heading");
            assert_eq!(c.signin_intro, t.get("signin-intro"), "signin_intro");
            assert_eq!(c.username_label, t.get("username-label"), "username_label");
            assert_eq!(c.password_label, t.get("password-label"), "password_label");
            assert_eq!(c.otp_label, t.get("otp-label"), "otp_label");
            assert_eq!(c.signin_otp_help, t.get("signin-otp-help"), "signin_otp_help");
            assert_eq!(c.otp_help, t.get("otp-help"), "otp_help");
            assert_eq!(
                c.signin_fill_every_field,
                t.get("signin-fill-every-field"),
                "signin_fill_every_field"
            );
            assert_eq!(c.signin_wrong, t.get("signin-wrong"), "signin_wrong");
            assert_eq!(c.code_replayed, t.get("code-replayed"), "code_replayed");
            assert_eq!(c.code_wrong, t.get("code-wrong"), "code_wrong");
            assert_eq!(c.step_up_needed, t.get("step-up-needed"), "step_up_needed");
            assert_eq!(c.too_many, t.get("too-many"), "too_many");
            assert_eq!(c.refused_heading, t.get("refused-heading"), "refused_heading");
            assert_eq!(c.refused_body, t.get("refused-body"), "refused_body");
            assert_eq!(c.back_to_queue, t.get("back-to-queue"), "back_to_queue");
            assert_eq!(c.queue_heading, t.get("queue-heading"), "queue_heading");
            assert_eq!(c.queue_caption, t.get("queue-caption"), "queue_caption");
            assert_eq!(c.take_next, t.get("take-next"), "take_next");
            assert_eq!(c.filters, t.get("filters"), "filters");
            assert_eq!(c.filter_status, t.get("filter-status"), "filter_status");
            assert_eq!(c.filter_priority, t.get("filter-priority"), "filter_priority");
            assert_eq!(c.filter_claimed, t.get("filter-claimed"), "filter_claimed");
            assert_eq!(c.any, t.get("filter-any"), "any");
            assert_eq!(c.anyone, t.get("filter-anyone"), "anyone");
            assert_eq!(c.mine, t.get("filter-mine"), "mine");
            assert_eq!(c.unclaimed, t.get("filter-unclaimed"), "unclaimed");
            assert_eq!(c.apply_filters, t.get("filter-apply"), "apply_filters");
            assert_eq!(c.col_priority, t.get("col-priority"), "col_priority");
            assert_eq!(c.col_account, t.get("col-account"), "col_account");
            assert_eq!(c.col_what, t.get("col-what"), "col_what");
            assert_eq!(c.col_status, t.get("col-status"), "col_status");
            assert_eq!(c.col_sla, t.get("col-sla"), "col_sla");
            assert_eq!(c.col_claimed, t.get("col-claimed"), "col_claimed");
            assert_eq!(c.nobody, t.get("nobody"), "nobody");
            assert_eq!(c.queue_empty, t.get("queue-empty"), "queue_empty");
            assert_eq!(c.pages, t.get("pages"), "pages");
            assert_eq!(c.first_page, t.get("first-page"), "first_page");
            assert_eq!(c.next_page, t.get("next-page"), "next_page");
            assert_eq!(c.shortcuts, t.get("shortcuts"), "shortcuts");
            assert_eq!(c.js_units, t.get("duration-units"), "js_units");
            assert_eq!(c.js_new_incidents, t.get("queue-news"), "js_new_incidents");
            assert_eq!(c.sla_acknowledge, t.get("sla-acknowledge"), "sla_acknowledge");
            assert_eq!(c.sla_contain, t.get("sla-contain"), "sla_contain");
            assert_eq!(c.sla_met, t.get("sla-met"), "sla_met");
            assert_eq!(c.sla_missed, t.get("sla-missed"), "sla_missed");
            assert_eq!(c.acknowledge_by, t.get("acknowledge-by"), "acknowledge_by");
            assert_eq!(c.contain_by, t.get("contain-by"), "contain_by");
            assert_eq!(c.opened, t.get("opened"), "opened");
            assert_eq!(c.received, t.get("received"), "received");
            assert_eq!(c.alerts_heading, t.get("alerts-heading"), "alerts_heading");
            assert_eq!(c.reasons_heading, t.get("reasons-heading"), "reasons_heading");
            assert_eq!(c.holds_heading, t.get("holds-heading"), "holds_heading");
            assert_eq!(c.no_holds, t.get("no-holds"), "no_holds");
            assert_eq!(c.hold_scope, t.get("hold-scope"), "hold_scope");
            assert_eq!(c.hold_kind, t.get("hold-kind"), "hold_kind");
            assert_eq!(c.hold_reason, t.get("hold-reason"), "hold_reason");
            assert_eq!(c.hold_placed, t.get("hold-placed"), "hold_placed");
            assert_eq!(c.hold_state, t.get("hold-state"), "hold_state");
            assert_eq!(c.freeze, t.get("freeze"), "freeze");
            assert_eq!(c.cool_off, t.get("cool-off"), "cool_off");
            assert_eq!(c.in_force, t.get("in-force"), "in_force");
            assert_eq!(c.until, t.get("until"), "until");
            assert_eq!(c.lifted, t.get("lifted"), "lifted");
            assert_eq!(c.expired, t.get("expired"), "expired");
            assert_eq!(c.runs_heading, t.get("runs-heading"), "runs_heading");
            assert_eq!(c.no_runs, t.get("no-runs"), "no_runs");
            assert_eq!(c.started_by, t.get("started-by"), "started_by");
            assert_eq!(c.digest, t.get("digest"), "digest");
            assert_eq!(c.step_pending, t.get("step-pending"), "step_pending");
            assert_eq!(c.step_running, t.get("step-running"), "step_running");
            assert_eq!(c.step_waiting, t.get("step-waiting"), "step_waiting");
            assert_eq!(c.step_succeeded, t.get("step-succeeded"), "step_succeeded");
            assert_eq!(c.step_failed, t.get("step-failed"), "step_failed");
            assert_eq!(c.step_skipped, t.get("step-skipped"), "step_skipped");
            assert_eq!(c.waiting_mfa, t.get("waiting-mfa"), "waiting_mfa");
            assert_eq!(c.waiting_identity, t.get("waiting-identity"), "waiting_identity");
            assert_eq!(c.waiting_approval, t.get("waiting-approval"), "waiting_approval");
            assert_eq!(c.approvals, t.get("approvals"), "approvals");
            assert_eq!(c.none_yet, t.get("none-yet"), "none_yet");
            assert_eq!(c.no_approval_needed, t.get("no-approval-needed"), "no_approval_needed");
            assert_eq!(c.approve_run, t.get("approve-run"), "approve_run");
            assert_eq!(c.resume_run, t.get("resume-run"), "resume_run");
            assert_eq!(c.flows_heading, t.get("flows-heading"), "flows_heading");
            assert_eq!(c.requested, t.get("flow-requested"), "requested");
            assert_eq!(c.reason, t.get("flow-reason"), "reason");
            assert_eq!(c.answer_mine, t.get("answer-mine"), "answer_mine");
            assert_eq!(c.answer_not_mine, t.get("answer-not-mine"), "answer_not_mine");
            assert_eq!(c.timeline_heading, t.get("timeline-heading"), "timeline_heading");
            assert_eq!(c.actions_heading, t.get("actions-heading"), "actions_heading");
            assert_eq!(c.acknowledge, t.get("acknowledge"), "acknowledge");
            assert_eq!(c.resolve_heading, t.get("resolve-heading"), "resolve_heading");
            assert_eq!(c.resolution_label, t.get("resolution-label"), "resolution_label");
            assert_eq!(c.confirmed_takeover, t.get("confirmed-takeover"), "confirmed_takeover");
            assert_eq!(c.false_positive, t.get("false-positive"), "false_positive");
            assert_eq!(c.user_error, t.get("user-error"), "user_error");
            assert_eq!(c.note_label, t.get("note-label"), "note_label");
            assert_eq!(c.resolve, t.get("resolve"), "resolve");
            assert_eq!(c.dismiss_heading, t.get("dismiss-heading"), "dismiss_heading");
            assert_eq!(c.dismiss, t.get("dismiss"), "dismiss");
            assert_eq!(
                c.run_playbook_heading,
                t.get("run-playbook-heading"),
                "run_playbook_heading"
            );
            assert_eq!(c.step_needs_mfa, t.get("step-needs-mfa"), "step_needs_mfa");
            assert_eq!(c.run_in_progress, t.get("run-in-progress"), "run_in_progress");
            assert_eq!(c.reviews_heading, t.get("reviews-heading"), "reviews_heading");
            assert_eq!(c.reviews_intro, t.get("reviews-intro"), "reviews_intro");
            assert_eq!(c.reviews_empty, t.get("reviews-empty"), "reviews_empty");
            assert_eq!(c.waiting_since, t.get("waiting-since"), "waiting_since");
            assert_eq!(c.holder_answers, t.get("holder-answers"), "holder_answers");
            assert_eq!(c.four_eyes, t.get("four-eyes"), "four_eyes");
            assert_eq!(c.unfreeze, t.get("unfreeze"), "unfreeze");
            assert_eq!(c.reject_reason, t.get("reject-reason"), "reject_reason");
            assert_eq!(c.reject_reason_help, t.get("reject-reason-help"), "reject_reason_help");
            assert_eq!(c.reject, t.get("reject"), "reject");
            assert_eq!(c.done_claimed, t.get("done-claimed"), "done_claimed");
            assert_eq!(
                c.done_nothing_waiting,
                t.get("done-nothing-waiting"),
                "done_nothing_waiting"
            );
            assert_eq!(c.done_acknowledged, t.get("done-acknowledged"), "done_acknowledged");
            assert_eq!(c.done_resolved, t.get("done-resolved"), "done_resolved");
            assert_eq!(c.done_dismissed, t.get("done-dismissed"), "done_dismissed");
            assert_eq!(c.done_run_started, t.get("done-run-started"), "done_run_started");
            assert_eq!(c.done_approved, t.get("done-approved"), "done_approved");
            assert_eq!(c.done_resumed, t.get("done-resumed"), "done_resumed");
            assert_eq!(
                c.done_unfreeze_started,
                t.get("done-unfreeze-started"),
                "done_unfreeze_started"
            );
            assert_eq!(c.done_rejected, t.get("done-rejected"), "done_rejected");
            assert_eq!(c.nav_campaigns, t.get("nav-campaigns"), "nav_campaigns");
            assert_eq!(c.campaigns_heading, t.get("campaigns-heading"), "campaigns_heading");
            assert_eq!(c.campaigns_intro, t.get("campaigns-intro"), "campaigns_intro");
            assert_eq!(c.campaigns_empty, t.get("campaigns-empty"), "campaigns_empty");
            assert_eq!(c.col_signal, t.get("col-signal"), "col_signal");
            assert_eq!(c.col_value, t.get("col-value"), "col_value");
            assert_eq!(c.col_accounts, t.get("col-accounts"), "col_accounts");
            assert_eq!(c.col_incidents, t.get("col-incidents"), "col_incidents");
            assert_eq!(c.col_first_seen, t.get("col-first-seen"), "col_first_seen");
            assert_eq!(c.col_last_seen, t.get("col-last-seen"), "col_last_seen");
            assert_eq!(c.signal_ip, t.get("signal-ip"), "signal_ip");
            assert_eq!(c.signal_device, t.get("signal-device"), "signal_device");
            assert_eq!(c.signal_destination, t.get("signal-destination"), "signal_destination");
            assert_eq!(c.campaign_badge, t.get("campaign-badge"), "campaign_badge");
            assert_eq!(c.campaign_heading, t.get("campaign-heading"), "campaign_heading");
            assert_eq!(c.campaign_masked, t.get("campaign-masked"), "campaign_masked");
            assert_eq!(c.campaign_joined, t.get("campaign-joined"), "campaign_joined");
            assert_eq!(c.contain_all, t.get("contain-all"), "contain_all");
            assert_eq!(c.playbook_label, t.get("playbook-label"), "playbook_label");
            assert_eq!(
                c.done_campaign_contained,
                t.get("done-campaign-contained"),
                "done_campaign_contained"
            );
            assert_eq!(c.event("alert.received"), t.get("event-alert-received"));
            assert_eq!(c.event("incident.opened"), t.get("event-incident-opened"));
            assert_eq!(
                c.event("incident.priority_raised"),
                t.get("event-incident-priority-raised")
            );
            assert_eq!(c.event("incident.claimed"), t.get("event-incident-claimed"));
            assert_eq!(c.event("incident.acknowledged"), t.get("event-incident-acknowledged"));
            assert_eq!(c.event("incident.contained"), t.get("event-incident-contained"));
            assert_eq!(c.event("incident.recovering"), t.get("event-incident-recovering"));
            assert_eq!(c.event("incident.resolved"), t.get("event-incident-resolved"));
            assert_eq!(c.event("incident.dismissed"), t.get("event-incident-dismissed"));
            assert_eq!(c.event("incident.sla_breached"), t.get("event-incident-sla-breached"));
            assert_eq!(c.event("incident.escalated"), t.get("event-incident-escalated"));
            assert_eq!(c.event("hold.placed"), t.get("event-hold-placed"));
            assert_eq!(c.event("hold.lifted"), t.get("event-hold-lifted"));
            assert_eq!(c.event("run.started"), t.get("event-run-started"));
            assert_eq!(c.event("run.step_started"), t.get("event-run-step-started"));
            assert_eq!(c.event("run.step_succeeded"), t.get("event-run-step-succeeded"));
            assert_eq!(c.event("run.step_waiting"), t.get("event-run-step-waiting"));
            assert_eq!(c.event("run.step_skipped"), t.get("event-run-step-skipped"));
            assert_eq!(c.event("run.step_failed"), t.get("event-run-step-failed"));
            assert_eq!(c.event("run.succeeded"), t.get("event-run-succeeded"));
            assert_eq!(c.event("run.failed"), t.get("event-run-failed"));
            assert_eq!(c.event("run.approved"), t.get("event-run-approved"));
            assert_eq!(c.event("run.resumed"), t.get("event-run-resumed"));
            assert_eq!(c.event("unfreeze.requested"), t.get("event-unfreeze-requested"));
            assert_eq!(c.event("unfreeze.in_review"), t.get("event-unfreeze-in-review"));
            assert_eq!(c.event("unfreeze.unfrozen"), t.get("event-unfreeze-unfrozen"));
            assert_eq!(c.event("unfreeze.rejected"), t.get("event-unfreeze-rejected"));
            assert_eq!(c.event("unfreeze.locked"), t.get("event-unfreeze-locked"));
            assert_eq!(c.event("unfreeze.expired"), t.get("event-unfreeze-expired"));
            assert_eq!(c.event("campaign.joined"), t.get("event-campaign-joined"));
            assert_eq!(c.event("x.y"), "x.y");
            assert_eq!(h.title, t.get("holder-title"), "title");
            assert_eq!(h.request_heading, t.get("holder-request-heading"), "request_heading");
            assert_eq!(h.request_intro, t.get("holder-request-intro"), "request_intro");
            assert_eq!(h.account_label, t.get("holder-account-label"), "account_label");
            assert_eq!(h.account_help, t.get("holder-account-help"), "account_help");
            assert_eq!(h.request_button, t.get("holder-request-button"), "request_button");
            assert_eq!(h.sent_heading, t.get("holder-sent-heading"), "sent_heading");
            assert_eq!(h.sent_body, t.get("holder-sent-body"), "sent_body");
            assert_eq!(h.progress, t.get("holder-progress"), "progress");
            assert_eq!(h.step_done, t.get("holder-progress-done"));
            assert_eq!(h.step_current, t.get("holder-progress-current"));
            assert_eq!(h.code_heading, t.get("holder-code-heading"), "code_heading");
            assert_eq!(h.code_intro, t.get("holder-code-intro"), "code_intro");
            assert_eq!(h.code_label, t.get("holder-code-label"), "code_label");
            assert_eq!(h.code_help, t.get("holder-code-help"), "code_help");
            assert_eq!(h.code_button, t.get("holder-code-button"), "code_button");
            assert_eq!(h.resend_button, t.get("holder-resend-button"), "resend_button");
            assert_eq!(
                h.second_factor_heading,
                t.get("holder-second-factor-heading"),
                "second_factor_heading"
            );
            assert_eq!(
                h.second_factor_intro,
                t.get("holder-second-factor-intro"),
                "second_factor_intro"
            );
            assert_eq!(
                h.second_factor_label,
                t.get("holder-second-factor-label"),
                "second_factor_label"
            );
            assert_eq!(
                h.second_factor_button,
                t.get("holder-second-factor-button"),
                "second_factor_button"
            );
            assert_eq!(h.activity_heading, t.get("holder-activity-heading"), "activity_heading");
            assert_eq!(h.activity_intro, t.get("holder-activity-intro"), "activity_intro");
            assert_eq!(h.mine, t.get("holder-mine"), "mine");
            assert_eq!(h.not_mine, t.get("holder-not-mine"), "not_mine");
            assert_eq!(h.activity_button, t.get("holder-activity-button"), "activity_button");
            assert_eq!(
                h.unfreezing_heading,
                t.get("holder-unfreezing-heading"),
                "unfreezing_heading"
            );
            assert_eq!(h.unfreezing_body, t.get("holder-unfreezing-body"), "unfreezing_body");
            assert_eq!(
                h.in_review_heading,
                t.get("holder-in-review-heading"),
                "in_review_heading"
            );
            assert_eq!(h.in_review_body, t.get("holder-in-review-body"), "in_review_body");
            assert_eq!(h.queue_position, t.get("holder-queue-position"), "queue_position");
            assert_eq!(h.estimated_wait, t.get("holder-estimated-wait"), "estimated_wait");
            assert_eq!(h.refresh, t.get("holder-refresh"), "refresh");
            assert_eq!(h.unfrozen_heading, t.get("holder-unfrozen-heading"), "unfrozen_heading");
            assert_eq!(h.unfrozen_body, t.get("holder-unfrozen-body"), "unfrozen_body");
            assert_eq!(h.rejected_heading, t.get("holder-rejected-heading"), "rejected_heading");
            assert_eq!(h.reason, t.get("holder-reason"), "reason");
            assert_eq!(h.locked_heading, t.get("holder-locked-heading"), "locked_heading");
            assert_eq!(h.locked_body, t.get("holder-locked-body"), "locked_body");
            assert_eq!(h.expired_heading, t.get("holder-expired-heading"), "expired_heading");
            assert_eq!(h.expired_body, t.get("holder-expired-body"), "expired_body");
            assert_eq!(h.new_request, t.get("holder-new-request"), "new_request");
            assert_eq!(h.expires, t.get("holder-expires"), "expires");
            assert_eq!(
                h.invalid_link_heading,
                t.get("holder-invalid-link-heading"),
                "invalid_link_heading"
            );
            assert_eq!(
                h.invalid_link_body,
                t.get("holder-invalid-link-body"),
                "invalid_link_body"
            );
            assert_eq!(h.code_expired, t.get("holder-code-expired"), "code_expired");
            assert_eq!(h.unavailable, t.get("holder-unavailable"), "unavailable");
            assert_eq!(h.answer_every, t.get("holder-answer-every"), "answer_every");
            assert_eq!(h.not_now, t.get("holder-not-now"), "not_now");
            assert_eq!(h.too_many, t.get("holder-too-many"), "too_many");
            assert_eq!(h.safety, t.get("holder-safety"), "safety");
            assert_eq!(h.step_names[0], t.get("holder-step-code"));
            assert_eq!(h.step_names[1], t.get("holder-step-second-factor"));
            assert_eq!(h.step_names[2], t.get("holder-step-activity-review"));
            assert_eq!(h.step_names[3], t.get("holder-step-unfreeze"));
            assert_eq!(
                format!("{} {} 4", h.wrong_code, h.tries_left),
                t.with("holder-wrong-code", &[("tries", 4.into())])
            );
            assert_eq!(
                format!("5 {}", h.minutes),
                t.with("holder-wait-minutes", &[("minutes", 5.into())])
            );
            assert_eq!(c.js_left, t.with("sla-left", &[("time", "{}".into())]));
            assert_eq!(c.js_overdue, t.with("sla-overdue", &[("time", "{}".into())]));
            assert_eq!(c.live_incidents, t.with("live-incidents", &[("count", 3.into())]));
            assert_eq!(
                format!("{} 3", c.signin_locked),
                t.with("signin-locked", &[("minutes", 3.into())])
            );
            assert_eq!(
                format!("{} 2", c.approvals_needed),
                t.with("approvals-needed", &[("count", 2.into())])
            );
            assert_eq!(
                format!("{} Freeze all", c.run),
                t.with("run-playbook", &[("title", "Freeze all".into())])
            );
            assert_eq!(
                format!("{} (7)", c.contain_all_help),
                t.with("contain-all-help", &[("open", 7.into())])
            );
            assert_eq!(
                format!("{} · {}", c.overview_acknowledge, c.overview_24h),
                t.get("overview-acknowledge-24h")
            );
            assert_eq!(
                format!("{} · {}", c.overview_acknowledge, c.overview_7d),
                t.get("overview-acknowledge-7d")
            );
            assert_eq!(
                format!("{} · {}", c.overview_contain, c.overview_24h),
                t.get("overview-contain-24h")
            );
            assert_eq!(
                format!("{} · {}", c.overview_contain, c.overview_7d),
                t.get("overview-contain-7d")
            );
            for &kind in ProblemKind::ALL {
                let old = kind.text(lang);
                let id = format!("problem-{}", kind.slug());
                assert_eq!(old.title, t.get(&id));
                assert_eq!(old.happened, t.get(&format!("{id}.happened")));
                assert_eq!(old.to_do, t.get(&format!("{id}.to-do")));
            }
        }
        let en = Text::of(Lang::En);
        assert_eq!(en.with("live-incidents", &[("count", 1.into())]), "live incident");
        assert_eq!(en.with("holder-wait-minutes", &[("minutes", 1.into())]), "1 minute");
        assert_eq!(en.get("problem-what-to-do"), "What to do");
        assert_eq!(Text::of(Lang::Ko).get("problem-what-to-do"), "해결 방법");
    }
}

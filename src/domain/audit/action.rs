//! What an audit entry records as having happened: one [`AuditAction`] per
//! kind of event, each with the exact text the log, the timelines and the
//! API show.

/// Declares [`AuditAction`] from `Variant => "noun.verb"` lines, so adding an
/// action is one line.
macro_rules! audit_actions {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// What happened, as `noun.verb`. Its text ([`AuditAction::as_str`]) is
        /// part of the API: never change one, add a new action instead.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($(#[$doc])* $variant,)*
        }

        impl AuditAction {
            /// Every action, in declaration order.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $text,)*
                }
            }
        }
    };
}

audit_actions! {
    AgentCreated => "agent.created",
    AgentDisabled => "agent.disabled",
    AgentLocked => "agent.locked",
    AgentLogin => "agent.login",
    AgentLoginFailed => "agent.login_failed",
    AgentLogout => "agent.logout",
    AgentStepUp => "agent.step_up",
    AgentStepUpFailed => "agent.step_up_failed",
    AlertReceived => "alert.received",
    /// Chained in place of an entry that could not be chained as written;
    /// `holdfast audit verify` fails on it.
    AuditEntryRefused => "audit.entry_refused",
    /// Chained into every chain when its older entries are archived.
    AuditCheckpoint => "audit.checkpoint",
    CampaignContained => "campaign.contained",
    CampaignJoined => "campaign.joined",
    CampaignRecognized => "campaign.recognized",
    CaseMessage => "case.message",
    CaseSatisfaction => "case.satisfaction",
    ExchangeDeliveryFailed => "exchange.delivery_failed",
    HoldLifted => "hold.lifted",
    HoldPlaced => "hold.placed",
    HolderLock => "holder.lock",
    HolderLockLinkWithheld => "holder.lock_link_withheld",
    HolderNotMe => "holder.not_me",
    HolderNotified => "holder.notified",
    HolderReport => "holder.report",
    HolderWasMe => "holder.was_me",
    /// An incident moved back to open; no transition leads there today.
    IncidentOpen => "incident.open",
    IncidentAcknowledged => "incident.acknowledged",
    IncidentClaimed => "incident.claimed",
    IncidentContained => "incident.contained",
    IncidentDismissed => "incident.dismissed",
    IncidentEscalated => "incident.escalated",
    IncidentHolderSaid => "incident.holder_said",
    IncidentLegalHoldReleased => "incident.legal_hold_released",
    IncidentLegalHoldSet => "incident.legal_hold_set",
    IncidentOpened => "incident.opened",
    IncidentPriorityRaised => "incident.priority_raised",
    IncidentRecovering => "incident.recovering",
    IncidentResolved => "incident.resolved",
    IncidentSlaBreached => "incident.sla_breached",
    KeysRotated => "keys.rotated",
    RunApproved => "run.approved",
    RunFailed => "run.failed",
    RunResumed => "run.resumed",
    RunStarted => "run.started",
    RunStepFailed => "run.step_failed",
    RunStepSkipped => "run.step_skipped",
    RunStepStarted => "run.step_started",
    RunStepSucceeded => "run.step_succeeded",
    RunStepWaiting => "run.step_waiting",
    RunSucceeded => "run.succeeded",
    UnfreezeActivityReviewed => "unfreeze.activity_reviewed",
    UnfreezeAwaitingActivityReview => "unfreeze.awaiting_activity_review",
    UnfreezeAwaitingCode => "unfreeze.awaiting_code",
    UnfreezeAwaitingSecondFactor => "unfreeze.awaiting_second_factor",
    UnfreezeCodeSent => "unfreeze.code_sent",
    UnfreezeExpired => "unfreeze.expired",
    UnfreezeInReview => "unfreeze.in_review",
    UnfreezeLinkResent => "unfreeze.link_resent",
    UnfreezeLinkWithheld => "unfreeze.link_withheld",
    UnfreezeLocked => "unfreeze.locked",
    UnfreezeRefused => "unfreeze.refused",
    UnfreezeRejected => "unfreeze.rejected",
    UnfreezeRequested => "unfreeze.requested",
    UnfreezeUnfrozen => "unfreeze.unfrozen",
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for AuditAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<AuditAction> for &str {
    fn eq(&self, other: &AuditAction) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::AuditAction;

    /// Every action with its text: the texts are part of the API, so a change
    /// to one must show up here.
    #[test]
    fn every_action_keeps_its_text() {
        let texts: Vec<&str> = AuditAction::ALL.iter().map(|action| action.as_str()).collect();
        assert_eq!(
            texts,
            [
                "agent.created",
                "agent.disabled",
                "agent.locked",
                "agent.login",
                "agent.login_failed",
                "agent.logout",
                "agent.step_up",
                "agent.step_up_failed",
                "alert.received",
                "audit.entry_refused",
                "audit.checkpoint",
                "campaign.contained",
                "campaign.joined",
                "campaign.recognized",
                "case.message",
                "case.satisfaction",
                "exchange.delivery_failed",
                "hold.lifted",
                "hold.placed",
                "holder.lock",
                "holder.lock_link_withheld",
                "holder.not_me",
                "holder.notified",
                "holder.report",
                "holder.was_me",
                "incident.open",
                "incident.acknowledged",
                "incident.claimed",
                "incident.contained",
                "incident.dismissed",
                "incident.escalated",
                "incident.holder_said",
                "incident.legal_hold_released",
                "incident.legal_hold_set",
                "incident.opened",
                "incident.priority_raised",
                "incident.recovering",
                "incident.resolved",
                "incident.sla_breached",
                "keys.rotated",
                "run.approved",
                "run.failed",
                "run.resumed",
                "run.started",
                "run.step_failed",
                "run.step_skipped",
                "run.step_started",
                "run.step_succeeded",
                "run.step_waiting",
                "run.succeeded",
                "unfreeze.activity_reviewed",
                "unfreeze.awaiting_activity_review",
                "unfreeze.awaiting_code",
                "unfreeze.awaiting_second_factor",
                "unfreeze.code_sent",
                "unfreeze.expired",
                "unfreeze.in_review",
                "unfreeze.link_resent",
                "unfreeze.link_withheld",
                "unfreeze.locked",
                "unfreeze.refused",
                "unfreeze.rejected",
                "unfreeze.requested",
                "unfreeze.unfrozen",
            ]
        );
    }

    #[test]
    fn no_two_actions_share_a_text() {
        let mut texts: Vec<&str> = AuditAction::ALL.iter().map(|action| action.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), AuditAction::ALL.len());
    }
}

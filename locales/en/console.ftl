### The security team's console (/console/). Status names, priorities,
### playbook ids and audit actions stay as the API spells them, so an agent
### can match the console to the API and the logs.


## Every page: the layout and navigation

brand-console = console
skip-to-content = Skip to content
nav-label = Console
nav-queue = Queue
nav-reviews = Unfreeze reviews
nav-overview = Overview

## The leads' overview

overview-heading = Overview
overview-as-of = As of
overview-open = Open incidents
overview-priority = Priority
overview-total = Total
overview-breaches-today = SLA breaches today (UTC)
overview-acknowledge-missed = Acknowledge deadlines missed
overview-contain-missed = Contain deadlines missed
overview-response-times = Response times
overview-count = Incidents
overview-median = Median
overview-p90 = 90th percentile
-time-to-acknowledge = Time to acknowledge
-time-to-contain = Time to contain
-last-24-hours = last 24 hours
-last-7-days = last 7 days

# The rows of the response-time table: which time, over which window.
overview-acknowledge-24h = { -time-to-acknowledge } · { -last-24-hours }
overview-acknowledge-7d = { -time-to-acknowledge } · { -last-7-days }
overview-contain-24h = { -time-to-contain } · { -last-24-hours }
overview-contain-7d = { -time-to-contain } · { -last-7-days }
overview-waiting = Holders waiting
overview-estimated-wait = Estimated wait for a new request

## Who is signed in

role-analyst = analyst
role-lead = lead
role-admin = admin
stepped-up = stepped up
sign-out = Sign out

## Signing in and stepping up

sign-in = Sign in
signin-heading = Sign in to the console
signin-intro = Security team only. Every sign-in and every action is recorded in the audit log.
username-label = Username
password-label = Password
otp-label = Authenticator code
signin-otp-help = The 6-digit code your authenticator app shows now.
otp-help = This action is sensitive: enter the 6-digit code your authenticator app shows now. It also allows sensitive actions for the next five minutes.
signin-fill-every-field = Enter your username, password and authenticator code.
signin-wrong = The username, password or code is wrong. Five failures within fifteen minutes lock the account for fifteen minutes.
# $minutes (Number) - minutes until the agent may try again.
signin-locked = Too many failed attempts: this agent is locked. Minutes left: { $minutes }
code-replayed = This code was already used. Wait for your authenticator app to show the next one.
code-wrong = The authenticator code is wrong. Nothing was changed.
step-up-needed = This action needs a fresh step-up. Enter the code your authenticator app shows now, then submit again. Nothing was changed.
too-many = Too many attempts from your address. Wait a moment and try again.

## A refused form

refused-heading = Request refused
refused-body = The form was out of date or did not come from this console, so nothing was changed. Open the page again and retry.
back-to-queue = Back to the queue

## The queue

queue-heading = Queue
queue-caption = Live incidents, most urgent first
# After the number of live incidents, which the page shows in bold.
# $count (Number) - that number.
live-incidents =
    { $count ->
        [one] live incident
       *[other] live incidents
    }
take-next = Take the next one
filters = Filters
filter-status = Status
filter-priority = Priority
filter-claimed = Claimed by
filter-any = Any
filter-anyone = Anyone
filter-mine = Me
filter-unclaimed = Nobody yet
filter-apply = Show
col-priority = Priority
col-account = Account
col-what = What happened
col-status = Status
col-sla = SLA
col-claimed = Claimed by
nobody = nobody
queue-empty = Nothing is waiting. New incidents appear here as they arrive.
pages = Pages
first-page = First page
next-page = Next page
shortcuts = Keyboard: n takes the next incident, r refreshes the queue. New incidents appear by themselves; without JavaScript, reload the page.
# $time (String) - a length of time such as "4m 12s". console.js fills it in as the deadline nears.
sla-left = { $time } left
# $time (String) - how long ago the deadline passed, such as "4m 12s".
sla-overdue = overdue by { $time }
# Four unit suffixes, comma-separated and in this order: days, hours, minutes, seconds ("4m 12s"). console.js uses them too.
duration-units = d,h,m,s
# console.js adds the number of new incidents after it.
queue-news = New incidents in the queue:

## SLA deadlines

sla-acknowledge = acknowledge:
sla-contain = contain:
sla-met = met
sla-missed = missed (escalated)

## The incident page

acknowledge-by = Acknowledge by
contain-by = Contain by
opened = Opened
received = received
alerts-heading = What happened
reasons-heading = Why this priority
holds-heading = Holds on the account
no-holds = No holds.
hold-scope = Scope
hold-kind = Kind
hold-reason = Reason
hold-placed = Placed
hold-state = State
freeze = freeze
cool-off = cool-off
in-force = in force
until = until
lifted = lifted
expired = expired
runs-heading = Playbook runs
no-runs = No playbook has run yet.
started-by = Started by
digest = digest
step-pending = pending
step-running = running
step-waiting = waiting
step-succeeded = done
step-failed = failed
step-skipped = skipped
waiting-mfa = waiting for a fresh step-up
waiting-identity = waiting for the holder to verify their identity
waiting-approval = waiting for a second lead's approval
approvals = Approvals
none-yet = none yet
# $count (Number) - how many leads must approve.
approvals-needed = approvals needed: { $count }
no-approval-needed = no approval needed at this priority
approve-run = Approve this run
resume-run = Resume with a fresh step-up
flows-heading = The holder's unfreeze requests
flow-requested = requested
flow-reason = Reason
answer-mine = the holder says this was them
answer-not-mine = the holder says this was NOT them
timeline-heading = Timeline
actions-heading = Actions
acknowledge = Acknowledge
resolve-heading = Resolve
resolution-label = Resolution
confirmed-takeover = Confirmed takeover
false-positive = False positive
user-error = User error
note-label = Note (optional)
resolve = Resolve the incident
dismiss-heading = Dismiss as a false positive
dismiss = Dismiss
run-playbook-heading = Run a playbook
step-needs-mfa = needs a step-up
run-in-progress = A run of this playbook is in progress (see Playbook runs).
# The button that starts a playbook. $title (String) - the playbook's title.
run-playbook = Run { $title }

## Unfreeze reviews

reviews-heading = Unfreeze reviews
reviews-intro = Account holders who verified themselves and wait for a decision, oldest first.
reviews-empty = No holder is waiting for a decision.
waiting-since = Waiting since
holder-answers = The holder's answers
four-eyes = This incident's priority needs a second lead: after you start the unfreeze, another lead approves it on the incident page.
unfreeze = Unfreeze the account
reject-reason = Reason for turning the request down
reject-reason-help = The holder reads this reason. Say what they can do next.
reject = Turn the request down

## What an action did (shown after the redirect)

done-claimed = You took this incident.
done-nothing-waiting = Nothing is waiting: every live incident has an agent.
done-acknowledged = Acknowledged.
done-resolved = The incident is resolved.
done-dismissed = The incident is dismissed.
done-run-started = The playbook is running; its steps are below.
done-approved = Your approval is recorded.
done-resumed = The run has a fresh step-up and goes on.
done-unfreeze-started = The unfreeze is running; see its steps below.
done-rejected = The request was turned down; the holder is told why.

## Campaigns

nav-campaigns = Campaigns
campaigns-heading = Campaigns
campaigns-intro = Incidents of different accounts that share a sign-in address, a device or a withdrawal destination within the window of the rules file. Every incident of a campaign is at least P2.
campaigns-empty = No campaigns.
col-signal = Shared signal
col-value = Value
col-accounts = Accounts
col-incidents = Incidents
col-first-seen = First seen
col-last-seen = Last seen
signal-ip = Sign-in IP address
signal-device = Sign-in device
signal-destination = Withdrawal destination
campaign-badge = Campaign
drill-badge = Drill
    .title = A rehearsal on a synthetic account: nothing is sent to the exchange, and it ends by itself after 24 hours.
campaign-heading = Campaign
campaign-masked = (masked: the full value is kept only for its retention period)
campaign-joined = Joined
contain-all = Contain all
# $open (Number) - how many of the campaign's incidents are open or acknowledged.
contain-all-help = Starts the chosen containment playbook on every incident of the campaign not yet contained, each as its own run; contained incidents are skipped. Incidents waiting ({ $open })
playbook-label = Containment playbook
done-campaign-contained = Containment started on every incident of the campaign not yet contained.

## Timeline events in words, one per audit action (an action without
## words here is shown as the log spells it).

event-alert-received = alert received
event-incident-opened = opened the incident
event-incident-priority-raised = priority raised
event-incident-claimed = took the incident
event-incident-acknowledged = acknowledged
event-incident-contained = contained
event-incident-recovering = started recovery
event-incident-resolved = resolved
event-incident-dismissed = dismissed
event-incident-sla-breached = missed an SLA deadline
event-incident-escalated = escalated to the leads
event-hold-placed = placed a hold
event-hold-lifted = lifted a hold
event-run-started = started a playbook
event-run-step-started = step started
event-run-step-succeeded = step done
event-run-step-waiting = step waiting
event-run-step-skipped = step skipped
event-run-step-failed = step failed
event-run-succeeded = playbook finished
event-run-failed = playbook failed
event-run-approved = approved a run
event-run-resumed = resumed a run
event-unfreeze-requested = asked to unfreeze
event-unfreeze-in-review = waiting for agents' review
event-unfreeze-unfrozen = unfrozen
event-unfreeze-rejected = unfreeze turned down
event-unfreeze-locked = unfreeze request locked
event-unfreeze-expired = unfreeze request expired
event-campaign-joined = joined a campaign

## The holder's side of an incident (SPEC §13).
done-message-sent = Your answer was sent. The holder is told there is a new message, never its text.
case-heading = The account holder
case-reported = The holder reported this themselves
case-links = Case links sent
case-no-links = none yet
case-holder-said = The holder said
case-unverified = (unverified: anyone holding the link can answer)
case-nothing-said = nothing yet
case-rating = The holder's rating
case-thread-heading = Messages with the holder
case-no-messages = No messages yet.
case-the-holder = The holder
case-reply-label = Answer the holder
case-reply-help = The holder sees it as from "the security team". Never ask for passwords or codes; a message proves no identity.
case-reply-button = Send answer
queue-unanswered = Unanswered holder message
review-reasons = Why it needs a person
review-reason-no_second_factor = The holder has no 2-step method: only one proof of identity (the code sent to the registered contact), so it never unfreezes automatically.
review-reason-disowned_activity = The holder said an activity was not theirs.
overview-resolve-24h = Time to resolve, last 24 hours
overview-resolve-7d = Time to resolve, last 7 days
overview-satisfaction = How holders rated their cases
overview-satisfaction-7d = Last 7 days
overview-satisfaction-30d = Last 30 days
# $count (Number) - how many holders answered.
overview-answers =
    { $count ->
        [one] { $count } answer
       *[other] { $count } answers
    }
## Rule quality (/console/rules, leads)
nav-rules = Rule quality
rules-heading = Rule quality
rules-intro = Incidents opened in the last { $days } days (drills left out), by the priority rules that fired in them and by alert kind, and how they ended. Since
rules-window = Window
rules-days = { $days } days
rules-mostly-false-positives = Firing mostly on false positives
rules-caught-takeovers = Caught confirmed takeovers
rules-verdict-counts = fired in { $fired } { $fired ->
        [one] incident
       *[other] incidents
    }: { $takeovers } confirmed { $takeovers ->
        [one] takeover
       *[other] takeovers
    }, { $noise } false positive or dismissed
rules-none = None.
rules-by-rule = By rule
rules-by-kind = By alert kind
rules-name = Name
rules-fired = Incidents
rules-confirmed-takeover = Confirmed takeover
rules-false-positive = False positive
rules-user-error = User error
rules-dismissed = Dismissed
rules-open = Not ended

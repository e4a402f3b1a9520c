### The account holder's unfreeze pages (/unfreeze). The holder is probably
### anxious and on a phone: short sentences, no jargon.

holder-title = Unfreeze your account
holder-request-heading = Get your account back
holder-request-intro = We froze your account because we saw activity that may not have been yours. Enter your account ID and we will send a secure link to your registered contact.
holder-account-label = Account ID
holder-account-help = It is shown in your account settings, for example acct-8842.
holder-request-button = Send me the link
holder-sent-heading = Check your messages
holder-sent-body = If this account is frozen, a link to unfreeze it is on its way to its registered contact. The link works for 24 hours.
holder-progress = Your progress
# The four steps, as the progress list names them.
holder-step-code = Confirm the code we sent you
holder-step-second-factor = Confirm your 2-step code
holder-step-activity-review = Review the flagged activity
holder-step-unfreeze = Account unfrozen
holder-progress-done = done
holder-progress-current = current step
holder-code-heading = Enter the code we sent you
holder-code-intro = We sent a 6-digit code to your registered contact. It is valid for 10 minutes.
holder-code-label = 6-digit code
holder-code-help = Digits only, no spaces.
holder-code-button = Confirm code
holder-resend-button = Send a new code
holder-second-factor-heading = Enter your 2-step code
holder-second-factor-intro = Open the authenticator app you use for this account and enter the code it shows.
holder-second-factor-label = 2-step code
holder-second-factor-button = Confirm
holder-activity-heading = Was this you?
holder-activity-intro = Tell us about each activity we flagged. Your answers decide how fast we can unfreeze your account.
holder-mine = Yes, this was me
holder-not-mine = No, this was not me
holder-activity-button = Send my answers
holder-unfreezing-heading = We are unfreezing your account
holder-unfreezing-body = Your answers are in. We are lifting the freeze with the exchange now; this usually takes a few seconds. We will message you the moment it is done.
holder-in-review-heading = A security specialist is reviewing your request
holder-in-review-body = You do not need to do anything else. We will message you as soon as there is a decision.
holder-queue-position = Your place in the queue
holder-estimated-wait = Estimated wait
# $minutes (Number) - the estimated wait, in whole minutes.
holder-wait-minutes =
    { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }
holder-refresh = Refresh status
holder-unfrozen-heading = Your account is unfrozen
holder-unfrozen-body = You can sign in again. For your safety, withdrawals stay paused for 24 hours, and every device was signed out.
holder-rejected-heading = We could not unfreeze your account
holder-reason = Reason
# What a turned-down holder can do next (the JSON API's next_steps says the same).
holder-rejected-next-steps = Your account stays frozen to protect it. Contact the exchange's support through the official app or website; never through links in messages you did not ask for.
holder-locked-heading = This request is locked
holder-locked-body = Too many wrong codes were entered. Wait an hour, then ask for a new link.
holder-expired-heading = This request has expired
holder-expired-body = Requests stay open for 24 hours. Ask for a new link to start again.
holder-new-request = Ask for a new link
holder-expires = This link works until
holder-invalid-link-heading = This link does not work
holder-invalid-link-body = It may have been replaced by a newer link. Use the most recent message we sent, or ask for a new link.
# $tries (Number) - tries left before the request is locked.
holder-wrong-code = That code is not right. Tries left: { $tries }
holder-code-expired = That code has expired. Send a new code and try again.
holder-unavailable = We could not check your code right now. Nothing was counted; please try again in a moment.
holder-answer-every = Please answer every activity.
holder-not-now = This step is already done.
holder-too-many = Too many attempts. Please wait a moment and try again.
holder-safety = We will never ask for your password or your 2-step code by phone or e-mail.

### The holder's case (/holder/cases/…): what happened, what we did, the
### holder's answer, the thread with the security team, and the rating.

case-title = Your security case
case-state-waiting-for-you = We are waiting for you
    .body = Finish the steps of your unfreeze request from the link we sent to your registered contact.
case-state-frozen = Your account is frozen to protect you
    .body = Nobody can sign in, trade or withdraw until this is settled. If this was you, ask to unfreeze it. If not, tell us below and we will keep it locked.
case-state-reviewing = The security team is looking into it
    .body = You do not need to do anything. You can write to the team below.
case-state-resolved = This case is closed
    .body = Thank you for your patience. The conversation below stays here for your records.
case-what-happened = What happened
case-nothing-flagged = You reported this yourself.
case-kind-login = A sign-in we did not expect
case-kind-withdrawal = A large withdrawal
case-kind-other = Activity on your account
case-country = from
case-destination = to
case-what-we-did = What we did
case-nothing-held = Nothing is frozen on your account right now.
case-scope-login = Sign-in frozen
case-scope-withdrawal = Withdrawals frozen
case-scope-trading = Trading frozen
case-scope-api = API keys frozen
case-since = since
case-until = until
case-was-it-you = Was this you?
case-not-me-button = This was not me: freeze my account now
case-was-me-button = This was me
case-ask-unfreeze = It was me: ask to unfreeze my account
case-resend-unfreeze = Lost the unfreeze link? Ask for it again
case-thread = Messages with the security team
case-thread-help = Never send passwords, codes or recovery phrases here. The team will never ask for them.
case-from-you = You
case-from-team = The security team
case-write-label = Write to the security team
case-send-button = Send message
case-message-invalid = Please write between 1 and 2,000 characters, without special control characters.
case-comment-invalid = Please keep your comment under 500 characters, without special control characters.
case-rate-heading = How did we do?
case-rate-legend = Your rating, from 1 (poor) to 5 (excellent)
# $score (Number) - a rating from 1 to 5.
case-rate-score = { $score }
case-rate-comment = Anything you want to tell us (optional)
case-rate-button = Send my rating
case-rated = Thank you for rating this case.
case-done-not-me = Your account is frozen. Nobody can sign in, trade or withdraw. The security team has been alerted.
case-done-was-me = Thank you. If your account is frozen, we sent a link to unfreeze it to your registered contact.
case-done-message = Your message was sent to the security team.
case-done-rated = Thank you for your rating.
case-not-me-heading = Was this not you?
case-not-me-body = Press the button to freeze your account at once: nobody will be able to sign in, trade or withdraw, and the security team will take over.
case-see-case = See your case
report-heading = Report a stolen account
report-intro = Think someone else is using your account? Enter your account ID. We will send a link to your registered contact that freezes the account with one tap.
report-button = Send me the link
report-sent-heading = Check your messages
report-sent-body = If this account exists, a link to freeze it is on its way to its registered contact. The link works for 24 hours.
lock-heading = Freeze your account
lock-body = Press the button to freeze your account at once. Nobody will be able to sign in, trade or withdraw until the security team has checked it with you.
lock-button = Freeze my account now
holder-see-case = See your security case
